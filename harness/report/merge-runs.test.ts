import { expect } from 'chai';
import { existsSync, readdirSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { mergeRuns, readMergeInputs, writeMergedReport, type MergeInput } from './merge-runs';
import { resultsSchemaErrors } from '../results/results-schema';
import { writeRunReport } from './run-report';
import type { RunResults, ShardRef, TestResult } from '../results/types';

const test = (id: string, outcome: TestResult['outcome'] = 'pass', file = 'scenarios/a.e2e.ts'): TestResult => ({ id, title: id.replace(/\//g, ' '), outcome, durationMs: 10, clients: [], file });

/** A ./lab test shard's results: `files` its e2e files, `tests` what ran in them. */
function shardRun(shard: ShardRef | undefined, files: string[], tests: TestResult[], edit: (r: RunResults) => void = () => undefined): RunResults {
  const r: RunResults = {
    schemaVersion: 1,
    runId: `test-shard-${shard?.index ?? 0}`,
    kind: 'test',
    title: './lab test',
    startedAt: `2026-12-02T03:1${shard?.index ?? 0}:00.000Z`,
    finishedAt: `2026-12-02T03:2${shard?.index ?? 0}:00.000Z`,
    outcome: tests.some((t) => t.outcome === 'fail') ? 'fail' : 'pass',
    exitCode: tests.some((t) => t.outcome === 'fail') ? 1 : 0,
    host: { cores: 2, accel: 'tcg', accelReason: 'x', speedFactor: 0.8, calibrationMs: 70, loadAvg1: 1 },
    images: { keys: { root: 'r1', initramfs: 'i1' }, rootSha256: 'ab' },
    commit: 'c0ffee',
    selection: { ...(shard ? { shard } : {}), files },
    suiteFiles: files.map((file) => ({ file, durationMs: 1000 })),
    tests,
  };
  edit(r);
  return r;
}

const input = (dir: string, results: RunResults): MergeInput => ({ dir, results });
const s = (index: number, count = 2): ShardRef => ({ index, count });

describe('mergeRuns: the shards of one ./lab test run as one report', () => {
  const one = (): RunResults => shardRun(s(1), ['scenarios/a.e2e.ts', 'scenarios/c.e2e.ts'], [test('a/one'), test('a/two', 'skipped'), test('c/three', 'pass', 'scenarios/c.e2e.ts')], (r) => (r.selection!.checksMs = 36_000));
  const two = (): RunResults => shardRun(s(2), ['scenarios/b.e2e.ts'], [test('b/four', 'fail', 'scenarios/b.e2e.ts'), test('b/five', 'pass', 'scenarios/b.e2e.ts')]);

  it('keeps every test once, under its shard\'s folder and naming its shard; counts are the sum; a failure fails the merge', () => {
    const { results, parts } = mergeRuns([input('/r/two', two()), input('/r/one', one())], 'test-merged-1');
    expect(parts).to.deep.equal([{ dir: '/r/one', prefix: 'shard-1' }, { dir: '/r/two', prefix: 'shard-2' }]);
    expect(results.tests.map((t) => t.id)).to.deep.equal(['shard-1/a/one', 'shard-1/a/two', 'shard-1/c/three', 'shard-2/b/four', 'shard-2/b/five']);
    expect(results.tests.find((t) => t.outcome === 'fail')?.shard).to.deep.equal(s(2));
    expect([results.outcome, results.exitCode]).to.deep.equal(['fail', 1]);
    expect(results.selection).to.deep.equal({ files: ['scenarios/a.e2e.ts', 'scenarios/b.e2e.ts', 'scenarios/c.e2e.ts'], checksMs: 36_000 });
    expect(results.suiteFiles?.map((f) => f.file)).to.deep.equal(['scenarios/a.e2e.ts', 'scenarios/c.e2e.ts', 'scenarios/b.e2e.ts']);
    expect([results.startedAt, results.finishedAt, results.commit]).to.deep.equal(['2026-12-02T03:11:00.000Z', '2026-12-02T03:22:00.000Z', 'c0ffee']);
    expect(results.notes?.[1]).to.match(/^shard 2\/2: run test-shard-2 \(shard-2\/\), 2 tests, fail in 600 s; host tcg, 2 cores/);
    expect(resultsSchemaErrors(results)).to.deep.equal([]);
  });

  it('moves each log a test points at under its part', () => {
    const withLogs = two();
    withLogs.tests[0] = { ...withLogs.tests[0]!, serverLog: 'b/four/server.log', clients: [{ client: 'c1', ok: false, stages: [], consoleLog: 'b/four/c1/console.log', qmpLog: 'b/four/c1/qmp.log' }] };
    const t = mergeRuns([input('/r/one', one()), input('/r/two', withLogs)], 'm').results.tests[3]!;
    expect([t.serverLog, t.clients[0]!.consoleLog, t.clients[0]!.qmpLog]).to.deep.equal(['shard-2/b/four/server.log', 'shard-2/b/four/c1/console.log', 'shard-2/b/four/c1/qmp.log']);
  });

  it('refuses a missing shard, a shard given twice, and shards of different N', () => {
    expect(() => mergeRuns([input('/r/one', one())], 'm')).to.throw(UsageError, /shard 2\/2 is missing/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/one-again', shardRun(s(1), ['scenarios/b.e2e.ts'], [test('b/x')]))], 'm')).to.throw(UsageError, /shard 1\/2 is given twice/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2, 3), ['scenarios/b.e2e.ts'], []))], 'm')).to.throw(UsageError, /different shard counts \(2 and 3\)/);
  });

  it('refuses runs of different commits, images or --grep, and a shard with an unsharded run', () => {
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2), ['scenarios/b.e2e.ts'], [], (r) => (r.commit = 'deadbeef')))], 'm')).to.throw(UsageError, /different commits \(c0ffee and deadbeef\)/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2), ['scenarios/b.e2e.ts'], [], (r) => (r.images!.keys.root = 'r2')))], 'm')).to.throw(UsageError, /different images/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2), ['scenarios/b.e2e.ts'], [], (r) => (r.selection!.grep = 'x')))], 'm')).to.throw(UsageError, /different --grep/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2), ['scenarios/b.e2e.ts'], [], (r) => (r.selection!.tier = 'smoke')))], 'm')).to.throw(UsageError, /different --tier/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/all', shardRun(undefined, ['scenarios/b.e2e.ts'], []))], 'm')).to.throw(UsageError, /is not a shard/);
  });

  it('refuses the same test in two parts, and shards that hold the same file (split from different records)', () => {
    const runA = shardRun(undefined, ['scenarios/a.e2e.ts'], [test('a/one')]);
    const runB = shardRun(undefined, ['scenarios/a.e2e.ts'], [test('a/one'), test('a/two')]);
    expect(() => mergeRuns([input('/r/x', runA), input('/r/y', runB)], 'm')).to.throw(UsageError, /"a one" is in \/r\/x and in \/r\/y/);
    expect(() => mergeRuns([input('/r/one', one()), input('/r/two', shardRun(s(2), ['scenarios/c.e2e.ts'], []))], 'm')).to.throw(UsageError, /scenarios\/c\.e2e\.ts is in shard 1\/2 and in shard 2\/2/);
  });

  it('merges runs that are no shards (two --grep runs of different tests), as part-1, part-2', () => {
    const { results } = mergeRuns([input('/r/x', shardRun(undefined, ['scenarios/a.e2e.ts'], [test('a/one')])), input('/r/y', shardRun(undefined, ['scenarios/b.e2e.ts'], [test('b/two')]))], 'm');
    expect(results.tests.map((t) => [t.id, t.shard])).to.deep.equal([['part-1/a/one', undefined], ['part-2/b/two', undefined]]);
  });

  it('refuses a boot run', () => {
    expect(() => mergeRuns([input('/r/boot', shardRun(undefined, [], [], (r) => (r.kind = 'boot')))], 'm')).to.throw(UsageError, /is a boot run: only \.\/lab test runs are merged/);
  });

  describe('on disk', () => {
    let root: string;
    beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'ltsp-lab-merge-'))));
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    /** A shard's run folder as ./lab test leaves it, with a console log for its failing test. */
    function written(name: string, r: RunResults): string {
      const dir = join(root, name);
      for (const t of r.tests) mkdirSync(join(dir, t.id), { recursive: true });
      writeFileSync(join(dir, 'b', 'four', 'c1.console.log'), '');
      writeRunReport(dir, r, root);
      return dir;
    }

    it('writes one results.json, junit.xml and index.html, with each shard\'s folder copied in, and says what is not a run folder', () => {
      mkdirSync(join(root, 'one', 'b', 'four'), { recursive: true });
      const dirs = [written('one', one()), written('two', two())];
      const { written: out, results } = writeMergedReport(readMergeInputs(dirs), join(root, 'merged'), 'merged');
      expect(JSON.parse(readFileSync(out.results, 'utf8'))).to.deep.equal(results);
      expect(readFileSync(out.junit, 'utf8')).to.match(/<testsuites name="ltsp-lab test" tests="5" failures="0" errors="1" skipped="1"/);
      expect(readFileSync(out.html, 'utf8')).to.include('shard-2');
      expect(existsSync(join(root, 'merged', 'shard-2', 'b', 'four', 'c1.console.log'))).to.equal(true);
      expect(existsSync(join(root, 'merged', 'shard-1', 'results.json'))).to.equal(true);
      // Not over a report, nor inside a part.
      expect(() => writeMergedReport(readMergeInputs(dirs), join(root, 'merged'), 'm')).to.throw(UsageError, /not an empty folder/);
      expect(() => writeMergedReport(readMergeInputs(dirs), join(dirs[0]!, 'merged'), 'm')).to.throw(UsageError, /cannot be in or around/);
      expect(() => readMergeInputs([join(root, 'nowhere')])).to.throw(UsageError, /nowhere is not a run folder: no such folder/);
      mkdirSync(join(root, 'empty'));
      expect(() => readMergeInputs([join(root, 'empty')])).to.throw(UsageError, /empty is not a run folder: it has no results\.json/);
      expect(() => readMergeInputs([dirs[0]!, `${dirs[0]!}/`])).to.throw(UsageError, /given twice/);
      expect(() => readMergeInputs([])).to.throw(UsageError, /needs the run folders/);
    });

    it("./lab test's lanes: parts already in the out folder as part-1, part-2 are merged where they are, once", () => {
      const whole = (files: string[], tests: TestResult[]): RunResults => shardRun(undefined, files, tests);
      const run = join(root, 'test-x');
      mkdirSync(join(run, 'part-2', 'b', 'four'), { recursive: true });
      const parts = [written('test-x/part-1', whole(['scenarios/b.e2e.ts'], [test('b/four', 'pass', 'scenarios/b.e2e.ts')])), written('test-x/part-2', whole(['scenarios/a.e2e.ts'], [test('a/one')]))];
      const { written: out, results } = writeMergedReport(readMergeInputs(parts), run, 'test-x');
      expect(out.results).to.equal(join(run, 'results.json'));
      expect(results.tests.map((t) => t.id)).to.deep.equal(['part-1/b/four', 'part-2/a/one']);
      expect(results.selection?.files).to.deep.equal(['scenarios/a.e2e.ts', 'scenarios/b.e2e.ts']);
      expect(readdirSync(run).sort(), 'nothing copied beside the parts').to.deep.equal(['index.html', 'junit.xml', 'part-1', 'part-2', 'results.json']);
      expect(existsSync(join(run, 'part-1', 'b', 'four', 'c1.console.log'))).to.equal(true);
      expect(() => writeMergedReport(readMergeInputs(parts), run, 'test-x'), 'merged twice').to.throw(UsageError, /holds a report already/);
      // Given in the other order, the parts are not where the merge would put them: refused as before.
      rmSync(join(run, 'results.json'));
      expect(() => writeMergedReport(readMergeInputs([...parts].reverse()), run, 'test-x')).to.throw(UsageError, /cannot be in or around/);
    });
  });
});

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eFiles, writeDurations, type RunResults, hostBudgetMs } from '../harness/index';
import { runLab, type CliResult } from './support/lab-cli';

/*
 * Issue 13's "a two-shard run merged gives the same test count as an unsharded one",
 * with real ./lab test runs inside this one: --shard 1/2, --shard 2/2 and no --shard,
 * each with the same --grep for a few tests that boot nothing, and --no-checks (this run
 * did them). Each writes to a scratch reports folder (LTSP_LAB_REPORTS), so none touches
 * this run's reports, JUnit or coverage. The shards are split by a record of the test's
 * own (LTSP_LAB_TEST_DURATIONS) in which the two files of CHEAP outweigh the rest, so they
 * fall in different shards whatever fixtures/test-durations.json says; the repo's record
 * is the partition's unit tests' (harness/shard/partition.test.ts).
 */
const CHEAP: Record<string, string> = {
  // ./lab's usage errors, no lab started.
  'scenarios/bad-input.e2e.ts': 'at the command line \\(\\./lab exits 2 for usage, 3 for set-up\\) an unknown',
  // A recorded run's page in chromium.
  'scenarios/report-page.e2e.ts': '^report page: ',
};
const GREP = Object.values(CHEAP).join('|');
/** The nested runs' names: a run by that name is nested, and does not nest again. */
const NESTED = 'nested-shards-';

interface NestedRun {
  cli: CliResult;
  dir: string;
  results: RunResults;
}

const sortedTitles = (r: RunResults): string[] => r.tests.map((t) => t.title).sort();
const junitTests = (dir: string): number => Number(/<testsuites [^>]*\btests="(\d+)"/.exec(readFileSync(join(dir, 'junit.xml'), 'utf8'))?.[1]);

describe('shards: ./lab test --shard 1/2 and 2/2, merged, are the unsharded run @full', function () {
  let scratch: string;
  const runs: Record<'one' | 'two' | 'all', NestedRun> = {} as never;

  async function nested(name: keyof typeof runs, shard: string[]): Promise<void> {
    const run = `${NESTED}${name}`;
    // A reports folder each: a run empties its JUnit and coverage folders as it starts.
    const reports = join(scratch, name);
    const env = { LTSP_LAB_REPORTS: reports, LTSP_LAB_TEST_RUN: run, LTSP_LAB_TEST_DURATIONS: join(scratch, 'test-durations.json') };
    const cli = await runLab(['test', '--no-checks', '--grep', GREP, ...shard], { timeoutMs: hostBudgetMs('nestedTest'), env });
    const dir = join(reports, run);
    expect(cli.code, `./lab test --grep ... ${shard.join(' ')} exited ${cli.code}:\n${cli.stderr.slice(-3000)}`).to.equal(0);
    runs[name] = { cli, dir, results: JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults };
  }

  before(async function () {
    // GREP picks tests of CHEAP's files only: a nested run that reached this suite would nest again.
    expect(process.env.LTSP_LAB_TEST_RUN ?? '', `a nested run (GREP ${GREP}) ran the shards suite itself`).to.not.match(new RegExp(`^${NESTED}`));
    scratch = mkdtempSync(join(tmpdir(), 'ltsp-lab-shards-'));
    const files = Object.fromEntries(e2eFiles().map((f) => [f, Object.hasOwn(CHEAP, f) ? 600_000 : 1000]));
    writeDurations({ source: { runId: 'scenarios/test-shards.e2e.ts', host: 'made up', recordedAt: new Date().toISOString() }, checksMs: 0, files }, join(scratch, 'test-durations.json'));
    // The first alone (a ./lab that finds build/ stale compiles it, which two at once would
    // race on), then the other two at once: they boot nothing, and each takes a core.
    await nested('one', ['--shard', '1/2']);
    await Promise.all([nested('two', ['--shard', '2/2']), nested('all', [])]);
  });

  after(() => scratch && rmSync(scratch, { recursive: true, force: true }));

  it('each shard runs the files the split gave it, every e2e file in one shard, and the greped tests of both', function () {
    const { one, two } = runs;
    expect(one.cli.stderr).to.match(/^lab: shard 1\/2: \d+ of \d+ end-to-end files, expected [\d.]+ min/m);
    expect(one.cli.stderr, 'split by the record it was given').to.include(`from ${join(scratch, 'test-durations.json')}`);
    expect(one.cli.stderr, 'shard 1 skips the checks too, with --no-checks').to.match(/type-check, lint and unit tests skipped/);
    expect([one.results.selection?.shard, two.results.selection?.shard]).to.deep.equal([{ index: 1, count: 2 }, { index: 2, count: 2 }]);
    const files = [...one.results.selection!.files, ...two.results.selection!.files];
    expect([...files].sort(), 'the shards together: every e2e file, once').to.deep.equal(e2eFiles());
    for (const r of [one, two]) {
      expect(r.results.selection?.grep).to.equal(GREP);
      expect(r.results.tests.length, `${r.dir}: no test of CHEAP ran in this shard`).to.be.above(0);
      for (const t of r.results.tests) expect(r.results.selection!.files, t.title).to.include(t.file);
    }
  });

  it('merged, the shards give the unsharded run\'s tests: the same count, titles and outcomes, each with its shard', async function () {
    const out = join(scratch, 'merged');
    const m = await runLab(['report', '--merge', runs.one.dir, runs.two.dir, '--out', out], { timeoutMs: hostBudgetMs('labCommand') });
    expect(m.code, m.stderr).to.equal(0);
    const merged = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    const all = runs.all.results;
    expect(all.tests.length, 'the grep matched nothing: CHEAP names tests that no longer exist').to.be.at.least(Object.keys(CHEAP).length);
    expect(merged.tests.length, 'merged tests: shard 1\'s and 2\'s').to.equal(runs.one.results.tests.length + runs.two.results.tests.length);
    expect(merged.tests.length, 'merged tests against the unsharded run\'s').to.equal(all.tests.length);
    expect(m.stdout).to.match(new RegExp(`^merged +${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${all.tests.length} tests: `, 'm'));
    expect(m.stdout).to.match(/^report: .*merged\/index\.html/m);
    expect(sortedTitles(merged)).to.deep.equal(sortedTitles(all));
    expect(merged.tests.map((t) => `${t.title}: ${t.outcome}`).sort()).to.deep.equal(all.tests.map((t) => `${t.title}: ${t.outcome}`).sort());
    expect(merged.tests.every((t) => t.shard?.count === 2)).to.equal(true);
    expect(junitTests(out), 'junit.xml').to.equal(junitTests(runs.all.dir));
  });

  it('./lab test refuses (exit 2) a shard that is not I/N, more shards than files, and a --grep that is no regular expression', async function () {
    const refusals: [string[], RegExp][] = [
      [['--shard', '3/2'], /usage: --shard 3\/2: I must be 1 to N/],
      [['--shard', '1/1000'], /usage: --shard 1\/1000: the suite has \d+ end-to-end files, so at most \d+ shards/],
      [['--grep', 'boot (to login'], /usage: --grep 'boot \(to login' is not a regular expression/],
      [['--shards', '1/2'], /usage: unknown option '--shards'.*\n.*hint: known options: --grep --shard --tier --no-checks/],
    ];
    for (const [args, message] of refusals) {
      const r = await runLab(['test', ...args], { timeoutMs: hostBudgetMs('labCommand'), env: { LTSP_LAB_REPORTS: scratch } });
      expect(r.stderr, args.join(' ')).to.match(message);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr, 'refused before any check ran').to.not.match(/== /);
    }
  });

  it('refuses (exit 2) one shard without the other, a shard twice, a shard with an unsharded run, and a folder that is no run', async function () {
    const refusals: [string[], RegExp][] = [
      [[runs.one.dir], /shard 2\/2 is missing/],
      [[runs.one.dir, runs.two.dir, runs.one.dir], /is given twice/],
      [[runs.one.dir, runs.two.dir, runs.all.dir], /is not a shard \(no --shard\)/],
      [[scratch], /is not a run folder: it has no results\.json/],
    ];
    for (const [dirs, message] of refusals) {
      const r = await runLab(['report', '--merge', ...dirs, '--out', join(scratch, 'refused')], { timeoutMs: hostBudgetMs('labCommand') });
      expect(r.stderr, dirs.join(' ')).to.match(message);
      expect(r.code, r.stderr).to.equal(2);
    }
  });
});

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetupError, UsageError } from '../common/errors';
import type { RunResults } from '../results/types';
import { defaultFileMs, durationsFromResults, readDurations, writeDurations, type TestDurations } from './durations';

function testRun(edit: (r: RunResults) => void = () => undefined): RunResults {
  const r: RunResults = {
    schemaVersion: 1,
    runId: 'test-20261202-031500',
    kind: 'test',
    title: './lab test',
    startedAt: '2026-12-02T03:15:00.000Z',
    finishedAt: '2026-12-02T03:30:00.000Z',
    outcome: 'pass',
    host: { cores: 2, accel: 'tcg', accelReason: 'x', speedFactor: 0.8, calibrationMs: 70, loadAvg1: 1 },
    commit: 'abc',
    selection: { files: ['scenarios/a.e2e.ts', 'scenarios/b.e2e.ts', 'scenarios/hooks-only.e2e.ts'], checksMs: 35_500.4 },
    suiteFiles: [{ file: 'scenarios/b.e2e.ts', durationMs: 1000.6 }, { file: 'scenarios/a.e2e.ts', durationMs: 60_000 }, { file: 'scenarios/a.e2e.ts', durationMs: 5000 }],
    tests: [],
  };
  edit(r);
  return r;
}

describe('test durations (fixtures/test-durations.json)', () => {
  it('are made from a whole run: each file summed over its suites, whole ms (0 for one that ran without a suite), the checks\' time, and where they come from', () => {
    expect(durationsFromResults(testRun())).to.deep.equal({
      source: { runId: 'test-20261202-031500', commit: 'abc', host: 'tcg-2cpu, speed factor 0.8', recordedAt: '2026-12-02T03:30:00.000Z' },
      checksMs: 35_500,
      files: { 'scenarios/a.e2e.ts': 65_000, 'scenarios/b.e2e.ts': 1001, 'scenarios/hooks-only.e2e.ts': 0 },
    });
  });

  it('refuse a part of a run: a --grep run, one shard, an interrupted run, a run without file times, a boot', () => {
    expect(() => durationsFromResults(testRun((r) => (r.outcome = 'interrupted')))).to.throw(UsageError, /was interrupted/);
    expect(() => durationsFromResults(testRun((r) => (r.selection!.grep = 'x')))).to.throw(UsageError, /--grep 'x'/);
    expect(() => durationsFromResults(testRun((r) => (r.selection!.shard = { index: 1, count: 2 })))).to.throw(UsageError, /shard 1\/2.*/);
    expect(() => durationsFromResults(testRun((r) => delete r.suiteFiles))).to.throw(UsageError, /no per-file times/);
    expect(() => durationsFromResults(testRun((r) => (r.kind = 'boot')))).to.throw(UsageError, /boot run/);
  });

  it('keep the previous checks time when the run skipped the checks (--no-checks), and refuse without one', () => {
    const previous = durationsFromResults(testRun());
    const skipped = testRun((r) => delete r.selection!.checksMs);
    expect(durationsFromResults(skipped, previous).checksMs).to.equal(35_500);
    expect(() => durationsFromResults(skipped)).to.throw(UsageError, /skipped the static checks/);
  });

  it('weigh an unknown file as the median recorded one', () => {
    const d = (files: Record<string, number>): TestDurations => ({ source: { runId: 'r', host: 'h', recordedAt: 't' }, checksMs: 0, files });
    expect(defaultFileMs(d({ a: 1, b: 300, c: 40 }))).to.equal(40);
    expect(defaultFileMs(d({ a: 1, b: 300, c: 40, e: 50 }))).to.equal(45);
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-durations-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('round-trip through writeDurations and readDurations', () => {
      const d = durationsFromResults(testRun());
      writeDurations(d, join(dir, 'd.json'));
      expect(readDurations(join(dir, 'd.json'))).to.deep.equal(d);
    });

    it('missing or damaged: a SetupError that says how to record them again', () => {
      expect(() => readDurations(join(dir, 'none.json'))).to.throw(SetupError, /no recorded test durations/);
      for (const [text, why] of [['{', /not JSON/], ['{"checksMs": 1, "files": {"a": "slow"}}', /\/files\/a: must be number/], ['{"files": {"a": 1}}', /checksMs/], ['{"checksMs": 1, "files": {}}', /\/files: must NOT have fewer than 1 properties/]] as const) {
        writeFileSync(join(dir, 'bad.json'), text);
        expect(() => readDurations(join(dir, 'bad.json')), text).to.throw(SetupError, why);
        try {
          readDurations(join(dir, 'bad.json'));
        } catch (e) {
          expect((e as SetupError).hint).to.match(/--record-durations/);
        }
      }
    });
  });
});

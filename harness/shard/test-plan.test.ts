import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { defaultFileMs, readDurations, type TestDurations } from './durations';
import { e2eFiles, parseShard, planSelection, planTestRun, validateGrep } from './test-plan';

const record: TestDurations = {
  source: { runId: 'test-1', host: 'tcg-2cpu', recordedAt: '2026-12-02T00:00:00Z' },
  checksMs: 30_000,
  files: { 'scenarios/a.e2e.ts': 300_000, 'scenarios/b.e2e.ts': 100_000, 'scenarios/c.e2e.ts': 100_000, 'scenarios/d.e2e.ts': 60_000 },
};
const files = Object.keys(record.files);

describe('./lab test plan: --grep, --shard, --no-checks', () => {
  it('parses --shard I/N and refuses what is not one', () => {
    expect(parseShard('2/3')).to.deep.equal({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '-1/2', ' 1/2']) expect(() => parseShard(bad), bad).to.throw(UsageError);
  });

  it('takes a --grep mocha can use, and refuses an empty one, a newline and a broken regular expression', () => {
    expect(validateGrep('bad input|report page')).to.equal('bad input|report page');
    expect(validateGrep('/BAD input/i')).to.equal('/BAD input/i');
    expect(() => validateGrep('')).to.throw(UsageError, /needs a pattern/);
    expect(() => validateGrep('a\nb')).to.throw(UsageError, /newline/);
    expect(() => validateGrep('boot (to login')).to.throw(UsageError, /not a regular expression/);
  });

  it('unsharded: every file, the checks unless --no-checks, the grep passed on', () => {
    expect(planTestRun({ checks: true }, files)).to.deep.equal({ checks: true, tier: 'full', files, guestless: [] });
    const p = planTestRun({ checks: false, grep: 'x' }, files);
    expect(p).to.deep.equal({ checks: false, grep: 'x', tier: 'full', e2eGrep: 'x', files, guestless: [] });
    expect(planSelection(p)).to.deep.equal({ grep: 'x', tier: 'full', files });
    const smoke = planTestRun({ checks: true, grep: 'x', tier: 'smoke' }, files);
    expect([smoke.grep, smoke.e2eGrep], 'the unit tests keep the user\'s --grep; the e2e files add the tier').to.deep.equal(['x', '^(?=[\\s\\S]*(?:^|\\s)@smoke(?=\\s|$))(?=[\\s\\S]*?(?:x))']);
    expect(planSelection(smoke)).to.deep.equal({ grep: 'x', tier: 'smoke', files });
  });

  it('unsharded: the guestless files (lanes.ts) run in a lane of their own, each lane with its own selection', () => {
    const p = planTestRun({ checks: true, tier: 'smoke' }, ['scenarios/a.e2e.ts', 'scenarios/storm.e2e.ts', 'scenarios/b.e2e.ts', 'scenarios/test-shards.e2e.ts']);
    expect([p.files, p.guestless]).to.deep.equal([
      ['scenarios/a.e2e.ts', 'scenarios/b.e2e.ts'],
      ['scenarios/storm.e2e.ts', 'scenarios/test-shards.e2e.ts'],
    ]);
    expect(planSelection(p, 'guestless')).to.deep.equal({ tier: 'smoke', files: ['scenarios/storm.e2e.ts', 'scenarios/test-shards.e2e.ts'] });
    expect(planSelection(p)).to.deep.equal({ tier: 'smoke', files: ['scenarios/a.e2e.ts', 'scenarios/b.e2e.ts'] });
    const shard = planTestRun({ checks: true, shard: { index: 1, count: 1 } }, ['scenarios/a.e2e.ts', 'scenarios/storm.e2e.ts'], record);
    expect([shard.files, shard.guestless], 'a shard is one lane').to.deep.equal([['scenarios/a.e2e.ts', 'scenarios/storm.e2e.ts'], undefined]);
  });

  it('sharded: shard 1 runs the checks (its head start), the others do not; the shards cover the suite once', () => {
    const one = planTestRun({ checks: true, shard: { index: 1, count: 2 } }, files, record);
    const two = planTestRun({ checks: true, shard: { index: 2, count: 2 } }, files, record);
    expect([one.checks, two.checks]).to.deep.equal([true, false]);
    // a (300 s) goes to shard 2, shard 1 having the checks' 30 s; b, c and d then fill shard 1 up to 290 s.
    expect(one.files).to.deep.equal(['scenarios/b.e2e.ts', 'scenarios/c.e2e.ts', 'scenarios/d.e2e.ts']);
    expect(two.files).to.deep.equal(['scenarios/a.e2e.ts']);
    expect(one.shards!.map((s) => s.expectedMs)).to.deep.equal([290_000, 300_000]);
    expect(planSelection(two)).to.deep.equal({ shard: { index: 2, count: 2 }, tier: 'full', files: two.files });
  });

  it('splits the same with or without --grep and --no-checks, so runners given different options still agree', () => {
    const plain = planTestRun({ checks: true, shard: { index: 2, count: 3 } }, files, record);
    const other = planTestRun({ checks: false, grep: 'x', shard: { index: 2, count: 3 } }, files, record);
    expect(other.files).to.deep.equal(plain.files);
    expect(other.checks).to.equal(false);
  });

  it('names the files the record does not know, weighed as its median file', () => {
    const p = planTestRun({ checks: true, shard: { index: 1, count: 2 } }, [...files, 'scenarios/new.e2e.ts'], record);
    expect(p.unrecorded).to.deep.equal(['scenarios/new.e2e.ts']);
    expect(p.defaultMs).to.equal(100_000);
  });

  it('refuses more shards than files', () => {
    expect(() => planTestRun({ checks: true, shard: { index: 1, count: 5 } }, files, record)).to.throw(UsageError, /4 end-to-end files, so at most 4 shards/);
  });

  it('the repo: the recorded durations read, and name e2e files as e2eFiles() does (repo-relative)', () => {
    const d = readDurations();
    const known = e2eFiles();
    expect(known.length).to.be.above(10);
    expect(Object.keys(d.files).filter((f) => known.includes(f)).length, 'recorded files that exist').to.be.above(known.length / 2);
    expect(defaultFileMs(d)).to.be.above(0);
  });
});

import { expect } from 'chai';
import { UsageError } from '../harness/index';
import { MERGE_SPEC, parseMergeArgs, parseTestArgs, REPORT_SPEC, TEST_SPEC } from './args';
import { planLines } from './test-plan';
import { usageOf } from './usage';

describe('./lab test and ./lab report --merge options', () => {
  it('./lab test: --grep, --shard I/N, --tier, --no-checks; nothing else', () => {
    expect(parseTestArgs([])).to.deep.equal({ checks: true });
    expect(parseTestArgs(['--grep', 'bad input', '--shard=2/3', '--no-checks'])).to.deep.equal({ checks: false, grep: 'bad input', shard: { index: 2, count: 3 } });
    expect(parseTestArgs(['--tier', 'smoke'])).to.deep.equal({ checks: true, tier: 'smoke' });
    expect(() => parseTestArgs(['--tier', 'quick'])).to.throw(UsageError, /--tier 'quick' is not a tier/);
    expect(() => parseTestArgs(['--shard', '3/2'])).to.throw(UsageError, /I must be 1 to N/);
    expect(() => parseTestArgs(['--grep'])).to.throw(UsageError, /--grep needs a value/);
    expect(() => parseTestArgs(['--shards', '1/2'])).to.throw(UsageError, /unknown option '--shards'/);
    expect(() => parseTestArgs(['scenarios/boot-to-login.e2e.ts'])).to.throw(UsageError, /unexpected argument/);
  });

  it('./lab report --merge: the words are the run folders, --out the merged one', () => {
    expect(parseMergeArgs(['--merge', 'a', 'b'])).to.deep.equal({ dirs: ['a', 'b'] });
    expect(parseMergeArgs(['--merge', 'a', '--out', 'm', 'b'])).to.deep.equal({ dirs: ['a', 'b'], out: 'm' });
    expect(parseMergeArgs(['--merge', 'a', '--out=m'])).to.deep.equal({ dirs: ['a'], out: 'm' });
    expect(() => parseMergeArgs(['--merge'])).to.throw(UsageError, /needs the run folders/);
    expect(() => parseMergeArgs(['--merge', 'a', '--against', 'b'])).to.throw(UsageError, /unknown option '--against'/);
    expect(() => parseMergeArgs(['--merge', 'a', '--out'])).to.throw(UsageError, /--out needs a value/);
  });

  it('the usages name every option', () => {
    for (const name of Object.keys(TEST_SPEC)) expect(usageOf('test'), `--${name}`).to.contain(`--${name}`);
    for (const name of [...Object.keys(REPORT_SPEC), ...Object.keys(MERGE_SPEC)]) expect(usageOf('report'), `--${name}`).to.contain(`--${name}`);
  });

  it('the plan ./lab reads: one fact a line, the files last', () => {
    expect(planLines({ checks: false, grep: 'a b', tier: 'smoke', e2eGrep: '@smoke a b', shard: { index: 2, count: 2 }, files: ['scenarios/x.e2e.ts', 'scenarios/y z.e2e.ts'] })).to.deep.equal([
      'checks no',
      'grep a b',
      'e2egrep @smoke a b',
      'selection {"grep":"a b","shard":{"index":2,"count":2},"tier":"smoke","files":["scenarios/x.e2e.ts","scenarios/y z.e2e.ts"]}',
      'file scenarios/x.e2e.ts',
      'file scenarios/y z.e2e.ts',
    ]);
    expect(planLines({ checks: true, tier: 'full', files: ['scenarios/x.e2e.ts'], guestless: ['scenarios/storm.e2e.ts'] })).to.deep.equal([
      'checks yes',
      'selection {"tier":"full","files":["scenarios/x.e2e.ts"]}',
      'file scenarios/x.e2e.ts',
      'guestless-selection {"tier":"full","files":["scenarios/storm.e2e.ts"]}',
      'guestless scenarios/storm.e2e.ts',
    ]);
  });
});

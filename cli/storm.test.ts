import { expect } from 'chai';
import { UsageError } from '../harness/index';
import { parseStormArgs } from './storm';

describe('./lab storm options', () => {
  it('takes a list of N, a pace, real clients, a jitter', () => {
    const o = parseStormArgs(['--clients', '1,10,30', '--pace', 'max', '--real', '1', '--jitter-ms', '0', '--no-verify']);
    expect([o.clients, o.pace, o.real, o.jitterMs, o.verify, o.record]).to.deep.equal([[1, 10, 30], 'max', 1, 0, false, false]);
    expect(parseStormArgs([]).clients).to.deep.equal([10]);
  });

  it('refuses what it cannot do, as usage errors', () => {
    expect(() => parseStormArgs(['--pace', 'fast'])).to.throw(UsageError, /--pace 'fast' is not one of recorded, max/);
    expect(() => parseStormArgs(['--real', '3'])).to.throw(UsageError, /--real 3 is out of range/);
    expect(() => parseStormArgs(['--record', '--clients', '3'])).to.throw(UsageError, /--record and --clients do not go together: it boots one real client and replays nothing/);
    expect(() => parseStormArgs(['--real', '1', '--record'])).to.throw(UsageError, /--record and --real do not go together/);
    expect(() => parseStormArgs(['--clients', '0'])).to.throw(UsageError, /--clients 0 replays nothing/);
    expect(() => parseStormArgs(['--clients', '10,x'])).to.throw(UsageError, /not a whole number/);
  });
});

import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { validateAppend } from './kernel-args';
import { parseTestDelay, testDelayArg } from './test-delay';

describe('ltsp.test.delay', () => {
  it('builds and reads STAGE:SECONDS lists', () => {
    const arg = testDelayArg([{ stage: 'nbd', seconds: 20 }, { stage: 'union', seconds: 8 }]);
    expect(arg).to.equal('ltsp.test.delay=nbd:20,union:8');
    expect(parseTestDelay('nbd:20,union:8')).to.deep.equal([{ stage: 'nbd', seconds: 20 }, { stage: 'union', seconds: 8 }]);
    expect(parseTestDelay('root:0.5')).to.deep.equal([{ stage: 'root', seconds: 0.5 }]);
  });

  const bad: [string, RegExp][] = [
    ['', /is empty/],
    ['nbd', /'nbd' is not STAGE:SECONDS/],
    ['nbd:', /is not STAGE:SECONDS/],
    ['nbd:-1', /is not STAGE:SECONDS/],
    ['nbd:1e3', /is not STAGE:SECONDS/],
    ['nbd:20,', /'' is not STAGE:SECONDS/],
    ['nfs:20', /'nfs' is not a boot stage/],
    ['nbd:0', /0 s for 'nbd' is out of range/],
    ['union:121', /121 s for 'union' is out of range/],
  ];
  for (const [value, message] of bad) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      expect(() => parseTestDelay(value)).to.throw(UsageError, message);
    });
  }

  it('--append checks it: a bad delay is a usage error before any lab starts', () => {
    expect(validateAppend('rd.debug ltsp.test.delay=nbd:20')).to.equal('rd.debug ltsp.test.delay=nbd:20');
    expect(() => validateAppend('ltsp.test.delay=nfs:20')).to.throw(UsageError, /'nfs' is not a boot stage/);
    expect(() => validateAppend('quiet ltsp.test.delay=nbd:x')).to.throw(UsageError, /'nbd:x' is not STAGE:SECONDS/);
  });
});

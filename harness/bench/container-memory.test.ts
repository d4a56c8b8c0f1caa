import { expect } from 'chai';
import { parseMemUsage } from './container-memory';

describe('parseMemUsage (docker stats MemUsage)', () => {
  it('reads binary and decimal units as MiB', () => {
    expect(parseMemUsage('132.7MiB / 23.54GiB')).to.equal(132.7);
    expect(parseMemUsage('1.5GiB / 23.54GiB')).to.equal(1536);
    expect(parseMemUsage('512KiB / 1GiB')).to.equal(0.5);
    expect(parseMemUsage('0B / 0B')).to.equal(0);
    expect(parseMemUsage('100MB / 1GB')).to.be.closeTo(95.37, 0.01);
  });

  it('is undefined for what it cannot read', () => {
    expect(parseMemUsage('')).to.equal(undefined);
    expect(parseMemUsage('--')).to.equal(undefined);
    expect(parseMemUsage('12 parsecs')).to.equal(undefined);
  });
});

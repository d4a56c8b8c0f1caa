import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { cpuSecondsOfStat } from './proc-metrics';

describe('cpuSecondsOfStat', () => {
  it('adds utime and stime, counting fields after a command name with spaces and parentheses', () => {
    const stat = '3319 (qemu-n4 (r1) c1) S 1294 3319 1294 0 -1 4194560 170123 0 12 0 12621 876 0 0 20 0 4 0 1265600 948684800 155640';
    expect(cpuSecondsOfStat(stat)).to.equal(134.97);
  });

  it('reads this process, and refuses a truncated line', () => {
    const own = cpuSecondsOfStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(own).to.be.a('number').and.to.be.at.least(0);
    expect(cpuSecondsOfStat('12 (x) S 1 2 3')).to.equal(null);
  });
});

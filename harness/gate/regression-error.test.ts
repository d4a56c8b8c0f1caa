import { expect } from 'chai';
import { exitCodeOf, LabError } from '../common/errors';
import { RegressionError } from './regression-error';
import { formatVerdict } from './verdict-table';
import type { GateVerdict } from './types';

const VERDICT: GateVerdict = {
  verdict: 'regression',
  profile: 'tcg-2cpu',
  reason: 'slower than the baseline in the median of 3 boots: nbd +20.3 s (37.8 s against 17.5 s, slack 4.4 s)',
  stages: [
    { stage: 'initramfs', baselineMs: 4600, measuredMs: 4700, deltaMs: 100, regressed: false },
    { stage: 'nbd', baselineMs: 17_500, measuredMs: 37_800, deltaMs: 20_300, regressed: true },
    { stage: 'total', baselineMs: 58_700, measuredMs: 79_100, deltaMs: 20_400, regressed: true },
  ],
};

describe('gate: RegressionError and the verdict table', () => {
  it('a regression exits 6, its own code: not 4 (the stack is broken) nor 3 or 5 (the lab is)', () => {
    const e = new RegressionError(VERDICT);
    expect(e).to.be.instanceOf(LabError);
    expect(e.kind).to.equal('regression');
    expect(exitCodeOf(e)).to.equal(6);
    expect(e.stages).to.deep.equal(['nbd']);
    expect(e.message).to.match(/^boot-time regression against baseline tcg-2cpu in stage nbd: slower than the baseline/);
  });

  it('the table marks the slower stages', () => {
    const t = formatVerdict(VERDICT).split('\n');
    expect(t[0]).to.equal(`gate: REGRESSION (baseline tcg-2cpu): ${VERDICT.reason}`);
    expect(t[1]).to.match(/^stage\s+baseline s\s+measured s\s+delta s$/);
    expect(t[3]).to.match(/^initramfs\s+4\.6\s+4\.7\s+\+0\.1$/);
    expect(t[4]).to.match(/^nbd\s+17\.5\s+37\.8\s+\+20\.3\s+SLOWER$/);
    expect(t[5]).to.match(/^total\s+58\.7\s+79\.1\s+\+20\.4\s+SLOWER$/);
  });

  it('a verdict without rows is one line', () => {
    expect(formatVerdict({ verdict: 'inconclusive', profile: 'kvm-8cpu', reason: 'no baseline', stages: [] })).to.equal('gate: INCONCLUSIVE (baseline kvm-8cpu): no baseline');
  });
});

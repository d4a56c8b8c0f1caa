import { expect } from 'chai';
import type { GateVerdict } from '../gate/types';
import { caught, summarizeGate, type DelayedRun } from './gate-case';

const v = (verdict: GateVerdict['verdict'], regressed: string[] = []): GateVerdict => ({
  verdict,
  profile: 'tcg-2cpu',
  reason: '',
  stages: ['nbd', 'union', 'total'].map((stage) => ({ stage, baselineMs: 1, measuredMs: 1, deltaMs: 0, regressed: regressed.includes(stage) })),
});
const d = (stage: string, seconds: number, verdict: GateVerdict): DelayedRun => ({ stage, seconds, verdict });

describe('bench gate: summarizeGate', () => {
  it('false alarms are the unchanged runs called a regression; inconclusive is not one', () => {
    const s = summarizeGate([v('pass'), v('inconclusive'), v('regression', ['union']), v('pass')], []);
    expect(s).to.deep.equal({ runs: 4, falseAlarms: 1, inconclusive: 1, passes: 2 });
  });

  it('caught: a regression that names the delayed stage, not just any', () => {
    expect(caught(d('nbd', 8, v('regression', ['nbd', 'total'])))).to.equal(true);
    expect(caught(d('nbd', 8, v('regression', ['union'])))).to.equal(false);
    expect(caught(d('nbd', 8, v('inconclusive', ['nbd'])))).to.equal(false);
  });

  it('the smallest delay caught at every stage, with every larger one caught too', () => {
    const runs = [
      d('nbd', 20, v('regression', ['nbd'])),
      d('nbd', 8, v('regression', ['nbd'])),
      d('nbd', 5, v('regression', ['nbd'])),
      d('nbd', 3, v('pass')),
      d('union', 8, v('regression', ['union'])),
      d('union', 5, v('regression', ['union'])),
      d('union', 3, v('regression', ['union'])),
    ];
    expect(summarizeGate([], runs).smallestReliable).to.equal(5);
  });

  it('a larger delay missed caps it: 5 s caught but 8 s missed is not reliable at 5', () => {
    const runs = [d('nbd', 20, v('regression', ['nbd'])), d('union', 20, v('regression', ['union'])), d('nbd', 8, v('pass')), d('nbd', 5, v('regression', ['nbd'])), d('union', 8, v('regression', ['union'])), d('union', 5, v('regression', ['union']))];
    expect(summarizeGate([], runs).smallestReliable).to.equal(20);
  });

  it('a size tried at one stage only does not count for the others; nothing caught is undefined', () => {
    expect(summarizeGate([], [d('nbd', 20, v('regression', ['nbd'])), d('union', 8, v('regression', ['union']))]).smallestReliable).to.equal(undefined);
    expect(summarizeGate([], [d('nbd', 8, v('pass')), d('union', 8, v('pass'))]).smallestReliable).to.equal(undefined);
  });
});

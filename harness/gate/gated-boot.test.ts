import { expect } from 'chai';
import { judgeWithRetries } from './gated-boot';
import type { BootSample, GateVerdict } from './types';

const sample = (totalMs: number): BootSample => ({ stages: { login: totalMs }, totalMs, speedFactor: 1, otherLoad: 0, guestsAtOnce: 1 });

/** A judge on the median total against 60 s with 5 s of slack, as the real one judges a stage. */
function judge(samples: readonly BootSample[]): GateVerdict {
  const sorted = samples.map((s) => s.totalMs).sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  const regressed = median - 60_000 > 5000;
  return { verdict: regressed ? 'regression' : 'pass', profile: 'tcg-2cpu', reason: `median ${median}`, stages: [{ stage: 'total', baselineMs: 60_000, measuredMs: median, deltaMs: median - 60_000, regressed }] };
}

describe('gate: judgeWithRetries', () => {
  it('a first boot that passes is judged alone: no more boots', async () => {
    const rounds: number[] = [];
    const r = await judgeWithRetries({ first: [sample(61_000)], retries: 2, judge, bootMore: async (n) => (rounds.push(n), [sample(90_000)]) });
    expect(r.verdict.verdict).to.equal('pass');
    expect(rounds).to.deep.equal([]);
  });

  it('one slow boot, then boots that are not: the median of all passes (no false alarm)', async () => {
    const rounds: number[] = [];
    const r = await judgeWithRetries({ first: [sample(75_000)], retries: 2, judge, bootMore: async (n) => (rounds.push(n), [sample(60_500), sample(61_000)]) });
    expect(r.verdict.verdict).to.equal('pass');
    expect(rounds, 'one round of two settles it').to.deep.equal([1]);
    expect(r.samples.map((s) => s.totalMs)).to.deep.equal([75_000, 60_500, 61_000]);
  });

  it('slow every time: boots again up to k rounds, then calls the regression on the median', async () => {
    const rounds: number[] = [];
    const progress: string[] = [];
    const r = await judgeWithRetries({ first: [sample(80_000)], retries: 2, judge, bootMore: async (n) => (rounds.push(n), [sample(79_000)]), progress: (l) => progress.push(l) });
    expect(r.verdict.verdict).to.equal('regression');
    expect(rounds).to.deep.equal([1, 2]);
    expect(r.samples).to.have.length(3);
    expect(progress[1]).to.match(/looks slower: median 80000; booting again \(retry 2 of 2\)/);
  });

  it('k = 0 judges the first boots only', async () => {
    const r = await judgeWithRetries({ first: [sample(80_000)], retries: 0, judge, bootMore: async () => expect.fail('booted') });
    expect(r.verdict.verdict).to.equal('regression');
  });

  it('a boot that fails in a retry round fails the gate with its error', async () => {
    const err = new Error('boot stage nbd failed');
    const r = judgeWithRetries({ first: [sample(80_000)], retries: 2, judge, bootMore: async () => Promise.reject(err) });
    await r.then(() => expect.fail('resolved'), (e: unknown) => expect(e).to.equal(err));
  });
});

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import { makeBaseline } from './baseline';
import { judgeBoots, looksSlower, regressedStages } from './judge';
import { DEFAULT_GATE_POLICY, type GatePolicy } from './policy';
import type { BootSample } from './types';
import { clientSpec } from '../client/client-spec';

/*
 * The gate on boots recorded on the reference host (fixtures/gate/recorded-boots.json:
 * six boots of the unchanged stack, two at a time, with other work running; the login
 * stage alone took 23 to 65 s). What the gate must do with real noise, not made-up noise.
 */
const BOOTS = (JSON.parse(readFileSync(join(repoRoot(), 'fixtures', 'gate', 'recorded-boots.json'), 'utf8')) as { boots: BootSample[] }).boots;
const CONFIG = { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock' }) };

/** A baseline of the recorded boots but one, and that one (leave one out). */
function leaveOneOut(i: number): { baseline: ReturnType<typeof makeBaseline>; boot: BootSample } {
  const rest = BOOTS.filter((_, j) => j !== i);
  return { baseline: makeBaseline(rest, { profile: 'tcg-2cpu', clientsAtOnce: 2, config: CONFIG }), boot: BOOTS[i]! };
}

/** A recorded boot with a sleep of `ms` in a stage: the stage and the total grow, the guest's waits do not. */
function slept(b: BootSample, stage: string, ms: number): BootSample {
  return { ...b, stages: { ...b.stages, [stage]: b.stages[stage]! + ms }, totalMs: b.totalMs + ms };
}

const judge = (baseline: ReturnType<typeof makeBaseline>, samples: BootSample[], policy: Readonly<GatePolicy> = DEFAULT_GATE_POLICY) =>
  judgeBoots({ profile: 'tcg-2cpu', baseline, baselineFile: 'fixtures/baselines/tcg-2cpu.json', samples, config: CONFIG, policy });
/** These boots and their baselines are of one host: judged without the allowance for another host, what the slack and the wait correction alone do. */
const SAME_HOST = { ...DEFAULT_GATE_POLICY, otherHostRel: 0 };

describe('gate: recorded boots of the reference host', () => {
  it('the recorded boots vary a lot in wall time (the noise the gate is up against)', () => {
    const totals = BOOTS.map((b) => b.totalMs);
    expect(Math.max(...totals) - Math.min(...totals)).to.be.greaterThan(50_000);
  });

  BOOTS.forEach((_, i) => {
    it(`boot ${i + 1}, judged alone against a baseline of the other five: not a regression`, () => {
      const { baseline, boot } = leaveOneOut(i);
      const v = judge(baseline, [boot]);
      expect(v.verdict, v.reason).to.not.equal('regression');
    });
  });

  it("without taking out the guests' waits for a CPU, the same boots would cry wolf", () => {
    const plain = (b: BootSample): BootSample => ({ stages: b.stages, totalMs: b.totalMs, speedFactor: b.speedFactor, otherLoad: b.otherLoad, guestsAtOnce: b.guestsAtOnce });
    const alarms = BOOTS.map((_, i) => leaveOneOut(i)).filter(({ baseline, boot }) => {
      const { totalMs, stages } = baseline;
      const unwatched = { ...baseline, totalMs: { medianMs: totalMs.medianMs, samples: totalMs.samples }, stages: Object.fromEntries(Object.entries(stages).map(([k, m]) => [k, { medianMs: m.medianMs, samples: m.samples }])) };
      return judge(unwatched, [plain(boot)], SAME_HOST).verdict === 'regression';
    });
    expect(alarms.length).to.be.greaterThan(0);
  });

  for (const [stage, ms] of [['nbd', 20_000], ['union', 8000]] as const) {
    it(`a sleep of ${ms / 1000} s in ${stage}, added to each recorded boot: a regression naming ${stage}, every time`, () => {
      BOOTS.forEach((_, i) => {
        const { baseline, boot } = leaveOneOut(i);
        const v = judge(baseline, [slept(boot, stage, ms)]);
        expect(v.verdict, `boot ${i + 1}: ${v.reason}`).to.equal('regression');
        expect(regressedStages(v), `boot ${i + 1}`).to.include(stage);
      });
    });
  }

  it('a sleep of 8 s in nbd (20 s long): a regression on the baseline\'s own host; on any host, never a pass, and more boots are asked for', () => {
    BOOTS.forEach((_, i) => {
      const { baseline, boot } = leaveOneOut(i);
      const same = judge(baseline, [slept(boot, 'nbd', 8000)], SAME_HOST);
      expect(same.verdict, `boot ${i + 1}: ${same.reason}`).to.equal('regression');
      expect(regressedStages(same), `boot ${i + 1}`).to.include('nbd');
      const any = judge(baseline, [slept(boot, 'nbd', 8000)]);
      expect(any.verdict, `boot ${i + 1}: ${any.reason}`).to.not.equal('pass');
      expect(looksSlower(any), `boot ${i + 1}`).to.equal(true);
    });
  });
});

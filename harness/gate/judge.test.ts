import { expect } from 'chai';
import { judgeBoots, looksSlower, regressedStages, slackMs, type JudgeInput } from './judge';
import { DEFAULT_GATE_POLICY } from './policy';
import type { Baseline, BootSample } from './types';
import { clientSpec } from '../client/client-spec';

/*
 * Numbers from recorded boots of this chain (TCG, 2 cores): the stage durations of the
 * README's timeline, and the spread the baseline's boots showed.
 */
const STAGES: Record<string, number[]> = {
  ipxe: [400, 380, 450],
  dhcp: [2200, 2100, 2400],
  fetched: [1100, 1000, 1300],
  kernel: [3500, 3300, 3700],
  initramfs: [4600, 4400, 5000],
  nbd: [17500, 16900, 18300],
  root: [1400, 1300, 1600],
  union: [3100, 2900, 3400],
  'switch-root': [1000, 900, 1200],
  system: [1400, 1300, 1500],
  login: [22600, 21500, 24000],
};
const median3 = (v: number[]): number => [...v].sort((a, b) => a - b)[1]!;
const BASE_STAGES = Object.fromEntries(Object.entries(STAGES).map(([k, v]) => [k, median3(v)]));
const BASE_TOTAL = Object.values(BASE_STAGES).reduce((a, b) => a + b, 0);

function baseline(over: Partial<Baseline> = {}): Baseline {
  const totals = [0, 1, 2].map((i) => Object.values(STAGES).reduce((a, v) => a + v[i]!, 0));
  return {
    schemaVersion: 2,
    profile: 'tcg-2cpu',
    speedFactor: 1,
    runs: 3,
    createdAt: '2026-12-01T11:00:00.000Z',
    stages: Object.fromEntries(Object.entries(STAGES).map(([k, v]) => [k, { medianMs: median3(v), samples: v }])),
    totalMs: { medianMs: median3(totals), samples: totals },
    clientsAtOnce: 2,
    guestsAtOnce: 2,
    otherLoad: 0.3,
    config: { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock' }) },
    ...over,
  };
}

/** A boot like the baseline's median one, with some stages changed by `delta` ms. */
function boot(delta: Record<string, number> = {}, over: Partial<BootSample> = {}): BootSample {
  const stages = Object.fromEntries(Object.entries(BASE_STAGES).map(([k, v]) => [k, v + (delta[k] ?? 0)]));
  const scale = (over.speedFactor ?? 1) / 1;
  for (const k of Object.keys(stages)) stages[k] = stages[k]! * scale;
  return { stages, totalMs: Object.values(stages).reduce((a, b) => a + b, 0), speedFactor: 1, otherLoad: 0.3, guestsAtOnce: 2, ...over };
}

/** The slack's own mechanics, judged as on the baseline's host: no allowance for another host. */
const SAME_HOST = { ...DEFAULT_GATE_POLICY, otherHostRel: 0 };

function judge(samples: BootSample[], over: Partial<JudgeInput> = {}) {
  return judgeBoots({ profile: 'tcg-2cpu', baseline: baseline(), baselineFile: 'fixtures/baselines/tcg-2cpu.json', samples, config: { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock' }) }, policy: SAME_HOST, ...over });
}

describe('gate: judgeBoots', () => {
  it('no baseline for the profile: inconclusive, and the reason says how to make one', () => {
    const v = judge([boot()], { baseline: undefined });
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.include('fixtures/baselines/tcg-2cpu.json').and.include('./lab baseline --update --client stock');
    expect(v.reason).to.include('the stock client has none');
    expect(v.stages).to.deep.equal([]);
  });

  it('boots of another client kind than the baseline\'s are never compared with it', () => {
    const v = judge([boot()], { config: { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'ltsp' }) } });
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.equal('not comparable with the baseline: the boots are of the ltsp client, the baseline of the stock client');
    expect(v.stages).to.deep.equal([]);
  });

  it('a boot like the baseline passes: every stage and the total compared, none regressed', () => {
    const v = judge([boot()]);
    expect(v.verdict).to.equal('pass');
    expect(v.stages.map((s) => s.stage)).to.deep.equal([...Object.keys(STAGES), 'total']);
    expect(v.stages.every((s) => !s.regressed && s.deltaMs === 0)).to.equal(true);
    expect(v.stages.at(-1)).to.include({ stage: 'total', baselineMs: baseline().totalMs.medianMs });
  });

  it('nbd 20 s slower: a regression that names nbd (and the total), with the delta', () => {
    const v = judge([boot({ nbd: 20_000 })]);
    expect(v.verdict).to.equal('regression');
    expect(regressedStages(v)).to.deep.equal(['nbd']);
    expect(v.stages.find((s) => s.stage === 'nbd')).to.include({ baselineMs: 17500, measuredMs: 37500, deltaMs: 20000, regressed: true });
    expect(v.stages.find((s) => s.stage === 'total')!.regressed).to.equal(true);
    expect(v.reason).to.match(/nbd \+20\.0 s \(37\.5 s against 17\.5 s, slack 4\.4 s\)/);
  });

  it('union 8 s slower: a regression that names union', () => {
    const v = judge([boot({ union: 8000 })]);
    expect(v.verdict).to.equal('regression');
    expect(regressedStages(v)).to.deep.equal(['union']);
    expect(v.stages.find((s) => s.stage === 'union')).to.include({ baselineMs: 3100, measuredMs: 11_100, regressed: true });
  });

  it('absolute slack: a short stage 2.9 s slower (94 % more) passes', () => {
    const v = judge([boot({ union: 2900 })]);
    expect(v.verdict).to.equal('pass');
    expect(v.stages.find((s) => s.stage === 'union')!.deltaMs).to.equal(2900);
  });

  it('relative slack: a long stage 4 s slower (23 %, over the 3 s absolute slack) passes', () => {
    expect(judge([boot({ nbd: 4000 })]).verdict).to.equal('pass');
    expect(judge([boot({ nbd: 4500 })]).verdict, '26 % over').to.equal('regression');
  });

  it("the baseline's own spread widens a stage's slack", () => {
    const wide = baseline();
    wide.stages.login = { medianMs: 22600, samples: [17000, 22600, 29000] }; // 12 s apart
    const login = (ms: number) => judge([boot({ login: ms })], { baseline: wide }).stages.find((s) => s.stage === 'login')!;
    expect(login(10_000).regressed).to.equal(false);
    expect(login(12_500).regressed).to.equal(true);
  });

  it('the median of the boots: one slow boot in three passes, two in three do not', () => {
    expect(judge([boot({ nbd: 20_000 }), boot(), boot()]).verdict).to.equal('pass');
    const v = judge([boot({ nbd: 8000 }), boot({ nbd: 7000 }), boot()]);
    expect(v.verdict).to.equal('regression');
    expect(v.stages.find((s) => s.stage === 'nbd')!.measuredMs).to.equal(17500 + 7000);
  });

  it("normalises by the guest speed factor: a boot 20 % slower on a host whose guest runs 20 % slower passes", () => {
    const slowHost = boot({}, { speedFactor: 1.2 });
    expect(slowHost.totalMs).to.be.greaterThan(BASE_TOTAL * 1.19);
    const v = judge([slowHost]);
    expect(v.verdict).to.equal('pass');
    expect(v.stages.at(-1)!.measuredMs).to.equal(Math.round(BASE_TOTAL));
    // The same times on a host calibrated like the baseline's are a regression.
    expect(judge([{ ...slowHost, speedFactor: 1 }]).verdict).to.equal('regression');
  });

  it('a speed factor far from the baseline\'s is inconclusive, even for a boot that would pass', () => {
    const v = judge([boot({}, { speedFactor: 2.6 })]);
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.match(/guest speed factor 2\.6 against the baseline's 1 \(x2\.60, beyond x2\.5\)/);
    expect(judge([boot({}, { speedFactor: 0.38 })]).verdict).to.equal('inconclusive');
    expect(judge([boot({}, { speedFactor: 2.4 })]).verdict, 'within x2.5 it is judged').to.equal('pass');
    expect(judge([boot({}, { speedFactor: 1.45 })]).verdict).to.equal('pass');
  });

  it('slower while other work kept the host busy: inconclusive, not a regression; a pass stays a pass', () => {
    const v = judge([boot({ nbd: 20_000 }, { otherLoad: 1.5 })]);
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.match(/other work kept 1\.50 cores busy against the baseline's 0\.30/);
    expect(v.stages.find((s) => s.stage === 'nbd')!.regressed, 'the rows still say what looked slower').to.equal(true);
    expect(judge([boot({}, { otherLoad: 1.5 })]).verdict).to.equal('pass');
    expect(judge([boot({ nbd: 20_000 }, { otherLoad: 1.25 })]).verdict, 'within the load slack').to.equal('regression');
  });

  it('slower with more QEMU guests than the baseline had: inconclusive', () => {
    const v = judge([boot({ login: 9000 }, { guestsAtOnce: 3 })]);
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.include('3 QEMU guests shared the host against the baseline\'s 2');
  });

  it('slower in the median but the boots disagree wildly: inconclusive', () => {
    const v = judge([boot({ login: 9000 }), boot({ login: 30_000, nbd: 10_000 }), boot({ login: 6000 })]);
    expect(v.verdict).to.equal('inconclusive');
    expect(v.reason).to.match(/the 3 boots disagree: their totals span 34\.0 s/);
    // The same median from boots that agree is a regression.
    expect(judge([boot({ login: 9000 }), boot({ login: 9500 }), boot({ login: 8500 })]).verdict).to.equal('regression');
  });

  it('every stage a little slower: the total catches what no stage does', () => {
    const v = judge([boot(Object.fromEntries(Object.entries(BASE_STAGES).map(([k, ms]) => [k, ms * 0.15])))]);
    expect(v.verdict).to.equal('regression');
    expect(regressedStages(v)).to.deep.equal([]);
    expect(v.stages.at(-1)).to.include({ stage: 'total', regressed: true });
  });

  it('boots configured unlike the baseline are not comparable', () => {
    expect(judge([boot()], { config: { memoryMb: 256, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock' }) } }).reason).to.include('256 MB, the baseline\'s 384 MB');
    const plain = judge([boot()], { config: { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock', union: 'none' }) } });
    expect(plain.verdict).to.equal('inconclusive');
    expect(plain.reason).to.include('the boots are of the stock union none client, the baseline of the stock client');
    const overlay = judge([boot()], { config: { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock', union: 'overlayfs' }) } });
    expect(overlay.reason).to.include('the boots are of the stock union overlayfs client, the baseline of the stock client');
    expect(judge([boot()], { config: { memoryMb: 384, nic: 'e1000', client: clientSpec({ kind: 'stock' }) } }).verdict).to.equal('inconclusive');
  });

  describe("less the guest's waits for a host CPU", () => {
    /** The baseline's boots, each with 1 s of wait in nbd and 2 s in login. */
    const watchedBaseline = (): Baseline => {
      const b = baseline();
      for (const m of Object.values(b.stages)) m.waitSamples = m.samples.map(() => 0);
      b.stages.nbd!.waitSamples = [1000, 1000, 1000];
      b.stages.login!.waitSamples = [2000, 2000, 2000];
      b.totalMs.waitSamples = [3000, 3000, 3000];
      return b;
    };
    const watched = (delta: Record<string, number>, wait: Record<string, number>): BootSample => {
      const s = boot(delta);
      s.waitMs = Object.fromEntries(Object.keys(s.stages).map((k) => [k, wait[k] ?? 0]));
      s.totalWaitMs = Object.values(s.waitMs).reduce((a, b) => a + b, 0);
      return s;
    };

    it('a stage 20 s longer because the guest waited 20 s for a CPU passes', () => {
      const v = judge([watched({ nbd: 20_000 }, { nbd: 21_000, login: 2000 })], { baseline: watchedBaseline() });
      expect(v.verdict).to.equal('pass');
      expect(v.stages.find((r) => r.stage === 'nbd')).to.include({ baselineMs: 16_500, measuredMs: 16_500 });
    });

    it('a stage 8 s longer while the guest slept (no wait) is a regression, and the reason says how it was judged', () => {
      const v = judge([watched({ union: 8000 }, { nbd: 1000, login: 2000 })], { baseline: watchedBaseline() });
      expect(v.verdict).to.equal('regression');
      expect(regressedStages(v)).to.deep.equal(['union']);
      expect(v.reason).to.include("times less the guest's waits for a host CPU");
    });

    it('boots not watched are judged on their plain times', () => {
      expect(judge([boot({ nbd: 20_000 })], { baseline: watchedBaseline() }).stages.find((r) => r.stage === 'nbd')).to.include({ baselineMs: 17_500, regressed: true });
    });
  });

  describe('what the host can explain: a host other than the baseline\'s, and the time tasks waited for a CPU', () => {
    const judgeHere = (samples: BootSample[]) => judge(samples, { policy: DEFAULT_GATE_POLICY });
    /** A boot with the host's CPU stall (ms) during some stages. */
    const stalled = (delta: Record<string, number>, stall: Record<string, number>, over: Partial<BootSample> = {}): BootSample => {
      const s = boot(delta, over);
      s.stallMs = Object.fromEntries(Object.keys(s.stages).map((k) => [k, stall[k] ?? 0]));
      s.totalStallMs = Object.values(s.stallMs).reduce((a, b) => a + b, 0);
      return s;
    };

    it('login beyond its slack by less than half its baseline time: inconclusive, no stage blamed, more boots asked for', () => {
      // login 22.6 s: slack 5.7 s (25 %), and 11.3 s more for a host other than the baseline's.
      const v = judgeHere([stalled({ login: 9000 }, {})]);
      expect(v.verdict).to.equal('inconclusive');
      expect(v.reason).to.match(/^slower \(login \+9\.0 s .*\), but within what the host can explain: login by up to \+16\.9 s \(slack 5\.7 s, 50 % for a host other than the baseline's 11\.3 s, tasks waiting for a CPU 0\.0 s\)/);
      expect(v.stages.filter((s) => s.regressed)).to.deep.equal([]);
      expect(looksSlower(v), 'the gate boots again').to.equal(true);
      expect(looksSlower(judgeHere([stalled({}, {})])), 'a pass is a pass').to.equal(false);
    });

    it('beyond slack, host share and the CPU stall together: a regression, and the reason says by how much', () => {
      const v = judgeHere([stalled({ nbd: 20_000 }, { nbd: 1000 })]);
      expect(v.verdict).to.equal('regression');
      expect(regressedStages(v)).to.deep.equal(['nbd']);
      // 20 s - 4.4 s slack - 8.8 s host share - 1.0 s stall.
      expect(v.reason).to.match(/beyond what the host can explain .* by nbd 5\.9 s/);
    });

    it('beside another lab: the CPU stall it caused is taken as the most it can have added; more than that is the stack', () => {
      const company = { otherLabs: ['xyz789'], foreignGuests: 1 };
      // login +20 s: beyond 5.7 + 11.3 s, but the host's run queue held a waiting task for 6 s of it.
      const v = judgeHere([stalled({ login: 20_000 }, { login: 6000 }, company)]);
      expect(v.verdict).to.equal('inconclusive');
      expect(v.reason).to.include('tasks waiting for a CPU 6.0 s').and.include('beside 1 other lab (run xyz789: server, NBD server, harness) and 1 QEMU guest of other runs at once');
      const w = judgeHere([stalled({ login: 20_000 }, { login: 2000 }, company)]);
      expect(w.verdict, w.reason).to.equal('regression');
      expect(w.reason).to.include('beside 1 other lab');
      // The guest's own wait is already out of its time: not counted twice.
      const own = stalled({ login: 25_000 }, { login: 6000 }, company);
      own.waitMs = Object.fromEntries(Object.keys(own.stages).map((k) => [k, k === 'login' ? 5000 : 0]));
      own.totalWaitMs = 5000;
      const watchedBase = baseline();
      for (const m of [...Object.values(watchedBase.stages), watchedBase.totalMs]) m.waitSamples = m.samples.map(() => 0);
      expect(judge([own], { policy: DEFAULT_GATE_POLICY, baseline: watchedBase }).verdict).to.equal('regression');
    });

    it("on the baseline's own host (the same host id) there is no allowance for another host: 9 s more login is a regression there, inconclusive elsewhere", () => {
      const mine = baseline({ host: 'aaaa000011112222' });
      const here = judge([stalled({ login: 9000 }, {})], { policy: DEFAULT_GATE_POLICY, baseline: mine, host: 'aaaa000011112222' });
      expect(here.verdict, here.reason).to.equal('regression');
      expect(here.reason).to.include("on the baseline's own host");
      const elsewhere = judge([stalled({ login: 9000 }, {})], { policy: DEFAULT_GATE_POLICY, baseline: mine, host: 'bbbb000011112222' });
      expect(elsewhere.verdict, elsewhere.reason).to.equal('inconclusive');
      // A baseline that names no host (recorded before hosts were recorded) is another host's.
      expect(judge([stalled({ login: 9000 }, {})], { policy: DEFAULT_GATE_POLICY, host: 'aaaa000011112222' }).verdict).to.equal('inconclusive');
    });

    it('beside another lab on a kernel without CPU pressure records: a slower stage is inconclusive, as it cannot be bounded', () => {
      const v = judgeHere([boot({ nbd: 20_000 }, { otherLabs: ['xyz789'] })]);
      expect(v.verdict).to.equal('inconclusive');
      expect(v.reason).to.include('not measured: no /proc/pressure/cpu');
      expect(judgeHere([boot({ nbd: 20_000 })]).verdict, 'alone, the slack and host share suffice').to.equal('regression');
    });
  });

  it('no boots: inconclusive', () => {
    expect(judge([]).verdict).to.equal('inconclusive');
  });

  it('slackMs: the largest of relative, absolute and spread', () => {
    expect(slackMs(17_500, [17_000, 18_000], 0.25, 3000, 1)).to.equal(4375);
    expect(slackMs(1000, [900, 1100], 0.25, 3000, 1)).to.equal(3000);
    expect(slackMs(1000, [500, 9000], 0.25, 3000, 1)).to.equal(8500);
  });

  it('the default policy is the one judged when none is given', () => {
    expect(DEFAULT_GATE_POLICY.stageAbsMs).to.equal(3000);
    const strict = { ...SAME_HOST, stageAbsMs: 1000 };
    expect(judge([boot({ union: 2000 })], { policy: strict }).verdict).to.equal('regression');
  });
});

import { expect } from 'chai';
import { SutError } from '../common/errors';
import type { ClientTimeline, GateVerdict } from '../results/types';
import { followUpTo, judgeGate, judgeTimelines, stageDeltaMs } from './criterion';

/** A timeline through `ids`, each stage `step` ms after the one before (some stages longer). */
function timeline(ids: string[], longer: Record<string, number> = {}, extra: Partial<ClientTimeline> = {}): ClientTimeline {
  let t = 0;
  const stages = ids.map((stage) => {
    t += longer[stage] ?? 3000;
    return { stage, label: stage, t, line: `${stage} line` };
  });
  return { client: 'c1', mac: '52:54:00:00:00:01', ok: extra.failedStage === undefined, stages, ...extra };
}

const TO_LOGIN = ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'union', 'switch-root', 'system', 'login'];
const TO_UNION = TO_LOGIN.slice(0, 8);

describe('bisect criterion', () => {
  it('default: good when every client reaches login; a client that failed at union makes it bad, with the stage', () => {
    expect(judgeTimelines({ kind: 'boot' }, [timeline(TO_LOGIN)])).to.deep.include({ verdict: 'good' });
    const error = 'c1: failure pattern \'union-failed\' seen after 0.9 s waiting for /ltsp-union: mounted / (c1: union mounted): "[   16.829120] ltsp-union: FAILED: mount --move /sysroot /run/ltsp-union/ro failed"\n--- last 40 console lines ---';
    const failed = timeline(TO_LOGIN.slice(0, 7), {}, { failedStage: 'union', error });
    const j = judgeTimelines({ kind: 'boot' }, [timeline(TO_LOGIN), failed], new SutError('x'));
    expect(j.verdict).to.equal('bad');
    expect(j.reason).to.equal('c1 did not reach login (failed at union: union-failed: ltsp-union: FAILED: mount --move /sysroot /run/ltsp-union/ro failed)');
    // An error that quotes no console line: its first line.
    const timedOut = timeline(TO_LOGIN.slice(0, 5), {}, { failedStage: 'nbd', error: "boot stage 'nbd' failed after 150.0 s: timed out\nmore" });
    expect(judgeTimelines({ kind: 'boot' }, [timedOut]).reason).to.equal("c1 did not reach login (failed at nbd: boot stage 'nbd' failed after 150.0 s: timed out)");
  });

  it('a SutError with every stage reached (the lab server died after login) is still bad', () => {
    expect(judgeTimelines({ kind: 'boot' }, [timeline(TO_LOGIN)], new SutError('the LTSP server container stopped mid-run'))).to.deep.equal({ verdict: 'bad', reason: 'the LTSP server container stopped mid-run' });
  });

  it('--stage: the boot is followed to that stage only; reaching it is good, whatever comes after', () => {
    expect(followUpTo({ kind: 'stage', stage: 'nbd' })).to.equal('nbd');
    expect(followUpTo({ kind: 'boot' })).to.equal('login');
    expect(judgeTimelines({ kind: 'stage', stage: 'union' }, [timeline(TO_UNION)]).verdict).to.equal('good');
    expect(judgeTimelines({ kind: 'stage', stage: 'union' }, [timeline(TO_UNION.slice(0, 6), {}, { failedStage: 'root' })]).reason).to.match(/^c1 did not reach union \(failed at root/);
  });

  it('--stage with --budget: the stage\'s own time (+Δ) against the budget, not its time since QEMU start', () => {
    const c = { kind: 'stage', stage: 'union', budgetS: 12 } as const;
    const slow = timeline(TO_UNION, { union: 23_400 });
    expect(stageDeltaMs(slow, 'union')).to.equal(23_400);
    expect(judgeTimelines(c, [slow])).to.deep.equal({ verdict: 'bad', reason: 'c1: union took 23.4 s (+Δ), over the 12 s budget' });
    // Long before the stage (a slow DHCP) is not the stage's time.
    const lateButQuick = timeline(TO_UNION, { dhcp: 60_000, union: 4_000 });
    expect(judgeTimelines(c, [lateButQuick])).to.deep.equal({ verdict: 'good', reason: 'union within 4.0 s (+Δ) of the 12 s budget' });
    expect(judgeTimelines(c, [timeline(TO_UNION, { union: 12_000 })]).verdict, 'the budget itself is within').to.equal('good');
  });

  it('no client booted is bad, not good', () => {
    expect(judgeTimelines({ kind: 'boot' }, []).verdict).to.equal('bad');
  });

  it('the gate: regression bad, pass good, inconclusive a skip (the host is to blame, not the revision)', () => {
    const v = (verdict: GateVerdict['verdict']): GateVerdict => ({ verdict, reason: `${verdict} because`, stages: [] }) as unknown as GateVerdict;
    expect(judgeGate(v('regression'))).to.deep.equal({ verdict: 'bad', reason: 'gate regression: regression because' });
    expect(judgeGate(v('pass')).verdict).to.equal('good');
    expect(judgeGate(v('inconclusive')).verdict).to.equal('skip');
  });
});

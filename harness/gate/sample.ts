import type { StageMark } from '../results/types';
import type { WaitSeries } from './guest-wait';
import type { BootSample } from './types';

/** What the host did during a boot (see HostSampler). */
export interface HostDuring {
  otherLoad: number;
  guestsAtOnce: number;
  /** Per watched guest, its vCPU's cumulative run-queue wait. */
  waits?: ReadonlyMap<string, WaitSeries>;
  /** Other runs' QEMU guests at once, at most. */
  foreignGuests?: number;
  /** Other labs whose server ran meanwhile. */
  otherLabs?: string[];
  /** Per watched guest, the host's cumulative CPU stall since its QEMU started (absent: no PSI). */
  stalls?: ReadonlyMap<string, WaitSeries>;
}

/**
 * A boot's stage marks (ms from QEMU start, in order) as durations: each stage's time
 * since the one before, the first since QEMU start. The total is the last mark's time.
 * With the guest's wait series, each stage also gets the time its vCPU waited for a
 * host CPU meanwhile.
 */
export function bootSample(marks: readonly StageMark[], speedFactor: number, host: HostDuring, waits?: WaitSeries, stall?: WaitSeries): BootSample {
  const stages: Record<string, number> = {};
  const waitMs: Record<string, number> = {};
  const stallMs: Record<string, number> = {};
  let prev = 0;
  for (const m of marks) {
    stages[m.stage] = Math.round(m.t - prev);
    if (waits) waitMs[m.stage] = Math.round(waits.between(prev, m.t));
    if (stall) stallMs[m.stage] = Math.round(stall.between(prev, m.t));
    prev = m.t;
  }
  return {
    stages,
    totalMs: Math.round(prev),
    ...(waits ? { waitMs, totalWaitMs: Math.round(waits.between(0, prev)) } : {}),
    ...(stall ? { stallMs, totalStallMs: Math.round(stall.between(0, prev)) } : {}),
    speedFactor,
    otherLoad: host.otherLoad,
    guestsAtOnce: host.guestsAtOnce,
    ...(host.foreignGuests === undefined ? {} : { foreignGuests: host.foreignGuests }),
    ...(host.otherLabs === undefined ? {} : { otherLabs: host.otherLabs }),
  };
}

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export type Accel = 'kvm' | 'tcg';

export interface HostSpeed {
  accel: Accel;
  /** Best of a few runs of a fixed CPU workload, ms. */
  calibrationMs: number;
  /**
   * Multiplier for every boot-time budget. Budgets are written for TCG on the
   * reference host (2 cores, where CALIBRATION_REFERENCE_MS was measured); a slower
   * host scales them up, KVM scales them down.
   */
  factor: number;
}

/** The calibration workload's time on the reference host. */
export const CALIBRATION_REFERENCE_MS = 61;
/** KVM boots the same guest 10-50x faster than TCG; budgets shrink by less, to stay safe. */
const KVM_FACTOR = 0.3;

/**
 * Native SHA-256 over 96 MiB: steady from the first run, unlike a JavaScript loop,
 * whose time depends on when V8's JIT tiers it up (seen here: 210 ms or 75 ms).
 */
function workload(): number {
  const buf = Buffer.alloc(1 << 20, 7);
  const t = performance.now();
  for (let k = 0; k < 3; k++) {
    const h = createHash('sha256');
    for (let i = 0; i < 32; i++) h.update(buf);
    h.digest();
  }
  return performance.now() - t;
}

export function detectAccel(): Accel {
  if (process.env.LTSP_LAB_ACCEL === 'tcg' || process.env.LTSP_LAB_ACCEL === 'kvm') return process.env.LTSP_LAB_ACCEL;
  return existsSync('/dev/kvm') ? 'kvm' : 'tcg';
}

let cached: HostSpeed | undefined;

/**
 * Measures the host once per process (about half a second): accelerator plus a short
 * CPU calibration. LTSP_LAB_SLOWDOWN multiplies the result for hosts the calibration
 * misjudges (e.g. a loaded CI runner).
 */
export function measureHostSpeed(): HostSpeed {
  if (cached) return cached;
  const accel = detectAccel();
  let best = Infinity;
  for (let i = 0; i < 5; i++) best = Math.min(best, workload());
  const cpu = Math.min(8, Math.max(0.5, best / CALIBRATION_REFERENCE_MS));
  const extra = Number(process.env.LTSP_LAB_SLOWDOWN ?? '1');
  const factor = cpu * (accel === 'kvm' ? KVM_FACTOR : 1) * (Number.isFinite(extra) && extra > 0 ? extra : 1);
  cached = { accel, calibrationMs: Math.round(best * 10) / 10, factor: Math.round(factor * 100) / 100 };
  return cached;
}

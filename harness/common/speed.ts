import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

export type Accel = 'kvm' | 'tcg';

/** How the accelerator was chosen (harness/accel): the choice and the sentence that says why. */
export interface AccelChoice {
  accel: Accel;
  /** E.g. `kvm unusable (probe: no "Linux version" in 5 s) -> tcg`. */
  reason: string;
}

export interface HostSpeed {
  accel: Accel;
  /** Why this accelerator: the probe's verdict, the override, or the missing device. */
  accelReason: string;
  /** Best of a few runs of a fixed CPU workload, ms. */
  calibrationMs: number;
  /**
   * Multiplier for every scaled budget (common/budgets.ts). Budgets are written per
   * accelerator for the reference host (2 cores, where CALIBRATION_REFERENCE_MS was
   * measured); a slower CPU scales them up. LTSP_LAB_SLOWDOWN multiplies it.
   */
  factor: number;
  cores: number;
}

/** The calibration workload's time on the reference host. */
export const CALIBRATION_REFERENCE_MS = 61;

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

let calibrated: { calibrationMs: number; cpu: number } | undefined;

/** The CPU calibration, once per process (about half a second). */
export function calibrateCpu(): { calibrationMs: number; cpu: number } {
  if (!calibrated) {
    let best = Infinity;
    for (let i = 0; i < 5; i++) best = Math.min(best, workload());
    calibrated = { calibrationMs: Math.round(best * 10) / 10, cpu: Math.min(8, Math.max(0.5, best / CALIBRATION_REFERENCE_MS)) };
  }
  return calibrated;
}

/**
 * The host's speed for a chosen accelerator: the CPU calibration times
 * LTSP_LAB_SLOWDOWN (for hosts the calibration misjudges, e.g. a loaded CI runner).
 */
export function hostSpeed(choice: AccelChoice, env: NodeJS.ProcessEnv = process.env): HostSpeed {
  const { calibrationMs, cpu } = calibrateCpu();
  const extra = Number(env.LTSP_LAB_SLOWDOWN ?? '1');
  const factor = cpu * (Number.isFinite(extra) && extra > 0 ? extra : 1);
  return { accel: choice.accel, accelReason: choice.reason, calibrationMs, factor: Math.round(factor * 100) / 100, cores: availableParallelism() };
}

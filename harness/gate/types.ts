import type { ClientSpec } from '../client/client-spec';
import type { GateVerdict } from '../results/types';

/**
 * The regression gate's data: a baseline (fixtures/baselines/<profile>.json holds exactly
 * a Baseline), the boots measured against it, and the verdict.
 */

/** A list of measurements and their median, ms. */
export interface Measured {
  medianMs: number;
  samples: number[];
  /** Per sample, how long the guest's vCPU waited for a host CPU meanwhile (the gate's own field). */
  waitSamples?: number[];
}

/** What a baseline's boots were booted as: a run booted otherwise is not comparable. */
export interface BootConfig {
  memoryMb: number;
  nic: string;
  /** What the clients booted, their union method among it: a baseline of one kind is never compared with boots of another. */
  client: ClientSpec;
}

/** Version 2: speedFactor is the guest speed (harness/gate/guest-speed.ts); version 1's was the CPU calibration. */
export const BASELINE_SCHEMA_VERSION = 2;

export interface Baseline {
  schemaVersion: typeof BASELINE_SCHEMA_VERSION;
  /** `${accel}-${cores}cpu-${client}`, e.g. tcg-2cpu-ltsp (results/baseline.ts baselineProfile). */
  profile: string;
  /** The guest speed factor of the run that recorded it (gate/guest-speed.ts: a probe boot to /init against 5 s). */
  speedFactor: number;
  /** How many boots it holds. */
  runs: number;
  /** ISO 8601. */
  createdAt: string;
  /** The machine that recorded it (gate/host-id.ts); absent: unknown, judged as another host's. */
  host?: string;
  /** Per stage id, in boot order: its duration since the previous stage (the first: since QEMU start). */
  stages: Record<string, Measured>;
  /** QEMU start to the last stage (login). */
  totalMs: Measured;
  /** How many clients booted at once while it was recorded. */
  clientsAtOnce: number;
  /** The most QEMU guests (its own and others') seen on the host during its boots. */
  guestsAtOnce: number;
  /** Cores kept busy by everything but QEMU guests during its boots (median of the boots). */
  otherLoad: number;
  config: BootConfig;
}

/** One boot as the gate sees it. */
export interface BootSample {
  /** Stage id -> ms since the previous stage, in boot order. */
  stages: Record<string, number>;
  totalMs: number;
  /** Stage id -> ms the guest's vCPU waited for a host CPU during the stage (absent: not watched). */
  waitMs?: Record<string, number>;
  totalWaitMs?: number;
  /** The guest speed factor of the lab that booted it (gate/guest-speed.ts). */
  speedFactor: number;
  /** Cores busy with anything but QEMU guests during the boot, on average. */
  otherLoad: number;
  /** The most QEMU guests running at once during the boot. */
  guestsAtOnce: number;
  /**
   * Stage id -> ms during the stage in which some task on the host (any lab's server, NBD
   * server, harness or guest) was runnable and waited for a CPU (/proc/pressure/cpu, "some").
   * The most host contention can have added to the stage; absent: the kernel has no PSI.
   */
  stallMs?: Record<string, number>;
  totalStallMs?: number;
  /** The most QEMU guests of other runs (not this boot's lab's) running at once during the boot. */
  foreignGuests?: number;
  /** Other labs whose server ran on the host during the boot (run ids). */
  otherLabs?: string[];
  /** The guest speed probes its factor came from: each one's time to /init and its vCPU's wait for a host CPU, ms. */
  speedProbes?: { probeMs: number[]; waitMs: number[] };
}

/**
 * What the gate says of a run's boots; results.json keeps it as `gate` (its type and
 * schema live with the report). A row's stage is a stage id, or 'total' for QEMU start
 * to login; measuredMs is the median of the boots, scaled to the baseline's speed factor.
 */
export type { GateVerdict } from '../results/types';
export type StageVerdict = GateVerdict['stages'][number];

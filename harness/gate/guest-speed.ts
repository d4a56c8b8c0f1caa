import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeAccel, type ProbeResult } from '../accel/accel-probe';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';
import { clientImages } from '../images/image-set';
import type { StartedLab } from '../lab/lab';
import { defaultQemuBinary } from '../qemu/lab-qemu';
import { vcpuWaitMs } from './guest-wait';

/**
 * The gate's speed factor: how fast this host runs the guest, not how fast it runs
 * JavaScript. The lab's own kernel and initramfs boot to /init under the lab's
 * accelerator (the accelerator probe's boot, about 5 s of TCG), best of GUEST_SPEED_PROBES,
 * against GUEST_SPEED_REFERENCE_MS. Across two 2-core TCG hosts the CPU calibration of
 * common/speed.ts said 0.83 against 1.0 while the boots took half the time; this probe
 * said 4.8 s against 9.1-10.2 s, as the boots did.
 */
export const GUEST_SPEED_REFERENCE_MS = 5000;
export const GUEST_SPEED_PROBES = 2;

/** A probe boot, and how long its vCPU waited for a host CPU meanwhile (absent: not watched). */
export type GuestProber = () => Promise<ProbeResult & { waitMs?: number }>;

export interface GuestSpeed {
  factor: number;
  /** Each probe's time to /init, ms. */
  probeMs: number[];
  /** Of it, the time its vCPU waited for a host CPU, ms. */
  waitMs: number[];
}

/**
 * Best of `probes` probe boots, less each one's wait for a host CPU, as a factor of the
 * reference (2 decimals): a probe taken while another lab boots then says what the guest
 * runs at, not how busy the host was at that moment, as the boots are judged less their
 * own waits. Pure but for the prober; tested.
 */
export async function measureGuestSpeed(probe: GuestProber, probes = GUEST_SPEED_PROBES): Promise<GuestSpeed> {
  const probeMs: number[] = [];
  const waitMs: number[] = [];
  for (let i = 0; i < probes; i++) {
    const r = await probe();
    if (!r.ok) throw new HarnessError(`the gate's speed probe (${r.accel}) failed: ${r.failure ?? 'no reason'}\n${r.tail.slice(-10).join('\n')}`, { hint: './lab accel shows whether the accelerator runs the lab kernel' });
    probeMs.push(Math.round(r.ms));
    waitMs.push(Math.round(Math.min(r.ms, r.waitMs ?? 0)));
  }
  const net = probeMs.map((ms, i) => ms - waitMs[i]!);
  return { factor: Math.round((Math.min(...net) / GUEST_SPEED_REFERENCE_MS) * 100) / 100, probeMs, waitMs };
}

/** How often the probe's vCPU wait is read: a probe lasts about 5 s. */
const PROBE_WAIT_POLL_MS = 200;

/** Runs a probe while following its QEMU's vCPU wait (the pid in its pidfile); the last reading before it ended. */
async function watchedProbe(pidFile: string, run: () => Promise<ProbeResult>): Promise<ProbeResult & { waitMs?: number }> {
  let last: number | undefined;
  const timer = setInterval(() => {
    try {
      const w = vcpuWaitMs(Number(readFileSync(pidFile, 'utf8').trim()));
      if (w !== null) last = w;
    } catch {
      // not spawned yet, or gone
    }
  }, PROBE_WAIT_POLL_MS);
  try {
    const r = await run();
    return last === undefined ? r : { ...r, waitMs: last };
  } finally {
    clearInterval(timer);
  }
}

const measured = new WeakMap<StartedLab, Promise<GuestSpeed>>();

/**
 * The lab's guest speed, measured once per lab, before its first gated boots (callers
 * that ask at once share the one measurement). Boots nothing else meanwhile.
 */
export function guestSpeed(lab: StartedLab): Promise<GuestSpeed> {
  let m = measured.get(lab);
  if (!m) {
    const accel = lab.speed.accel;
    const { kernel, initrd } = clientImages(lab.manifest, 'stock');
    const stock = { kernel, initrd };
    const totalMs = budgetMs('guestSpeed', lab.speed);
    const deadline = Deadline.after(totalMs, 'the gate\'s guest speed probes');
    // probeAccel's QEMU keeps its pidfile in <stateDir>/probe-<accel>/ (QemuMachine.pidFile).
    const pidFile = join(lab.run.stateDir, `probe-${accel}`, `probe-${accel}.pid`);
    m = measureGuestSpeed(() => watchedProbe(pidFile, () => probeAccel({
      accel,
      qemuBinary: defaultQemuBinary(process.env),
      // The stock client's kernel and initramfs, whatever the lab's clients boot: one
      // yardstick for every kind's baseline, so their guest speed factors compare.
      ...stock,
      stateDir: lab.run.stateDir,
      // The accelerator probe's limits are for telling a hang; here the deadline bounds it.
      kernelMs: totalMs,
      initMs: totalMs,
      deadline,
    })));
    measured.set(lab, m);
    m.catch(() => measured.delete(lab));
  }
  return m;
}

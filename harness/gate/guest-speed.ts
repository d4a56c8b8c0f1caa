import { probeAccel, type ProbeResult } from '../accel/accel-probe';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';
import type { StartedLab } from '../lab/lab';
import { defaultQemuBinary } from '../qemu/qemu-machine';

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

export type GuestProber = () => Promise<ProbeResult>;

/** Best of `probes` probe boots, as a factor of the reference (2 decimals). Pure but for the prober; tested. */
export async function measureGuestSpeed(probe: GuestProber, probes = GUEST_SPEED_PROBES): Promise<{ factor: number; probeMs: number[] }> {
  const probeMs: number[] = [];
  for (let i = 0; i < probes; i++) {
    const r = await probe();
    if (!r.ok) throw new HarnessError(`the gate's speed probe (${r.accel}) failed: ${r.failure ?? 'no reason'}\n${r.tail.slice(-10).join('\n')}`, { hint: './lab accel shows whether the accelerator runs the lab kernel' });
    probeMs.push(Math.round(r.ms));
  }
  return { factor: Math.round((Math.min(...probeMs) / GUEST_SPEED_REFERENCE_MS) * 100) / 100, probeMs };
}

const measured = new WeakMap<StartedLab, Promise<{ factor: number; probeMs: number[] }>>();

/**
 * The lab's guest speed, measured once per lab, before its first gated boots (callers
 * that ask at once share the one measurement). Boots nothing else meanwhile.
 */
export function guestSpeed(lab: StartedLab): Promise<{ factor: number; probeMs: number[] }> {
  let m = measured.get(lab);
  if (!m) {
    const accel = lab.speed.accel;
    const totalMs = budgetMs('guestSpeed', lab.speed);
    const deadline = Deadline.after(totalMs, 'the gate\'s guest speed probes');
    m = measureGuestSpeed(() => probeAccel({
      accel,
      qemuBinary: defaultQemuBinary(process.env),
      kernel: lab.manifest.kernel,
      initrd: lab.manifest.initrd,
      stateDir: lab.run.stateDir,
      // The accelerator probe's limits are for telling a hang; here the deadline bounds it.
      kernelMs: totalMs,
      initMs: totalMs,
      deadline,
    }));
    measured.set(lab, m);
    m.catch(() => measured.delete(lab));
  }
  return m;
}

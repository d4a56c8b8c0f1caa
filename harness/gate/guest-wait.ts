import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How long a QEMU's vCPU thread has waited on a run queue so far, ms: the time the guest
 * wanted a host CPU and did not get one (/proc/PID/task/TID/schedstat, second field:
 * ns spent waiting on a run queue; see the kernel's Documentation/scheduler/sched-stats).
 * Under TCG the vCPU is the thread with the most CPU time. A guest that sleeps or waits
 * for I/O is not runnable, so a slower stack does not show here; a busier host does.
 * Null once the process is gone.
 */
export function vcpuWaitMs(pid: number, procRoot = '/proc'): number | null {
  let best: { run: number; wait: number } | undefined;
  try {
    for (const tid of readdirSync(join(procRoot, String(pid), 'task'))) {
      const [run, wait] = readFileSync(join(procRoot, String(pid), 'task', tid, 'schedstat'), 'utf8').trim().split(/\s+/).map(Number);
      if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) continue;
      if (!best || run > best.run) best = { run, wait };
    }
  } catch {
    return best ? best.wait / 1e6 : null;
  }
  return best ? best.wait / 1e6 : null;
}

/** A guest's cumulative run-queue wait over its boot: points (ms since QEMU start, wait ms), in time order. */
export class WaitSeries {
  readonly points: [number, number][] = [];

  add(t: number, waitMs: number): void {
    this.points.push([t, waitMs]);
  }

  /** The cumulative wait at `t`, interpolated between polls; 0 before the first poll's share. */
  at(t: number): number {
    const p = this.points;
    if (p.length === 0) return 0;
    const [t0, w0] = p[0]!;
    if (t <= t0) return t0 > 0 ? (w0 * Math.max(0, t)) / t0 : w0;
    for (let i = 1; i < p.length; i++) {
      const [t1, w1] = p[i]!;
      const [ta, wa] = p[i - 1]!;
      if (t <= t1) return t1 === ta ? w1 : wa + ((w1 - wa) * (t - ta)) / (t1 - ta);
    }
    return p[p.length - 1]![1];
  }

  /** The wait between two times. */
  between(a: number, b: number): number {
    return Math.max(0, this.at(b) - this.at(a));
  }
}

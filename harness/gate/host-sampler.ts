import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qemuPids } from '../bench/host-load';
import { vcpuWaitMs, WaitSeries } from './guest-wait';
import { cpuSecondsOfStat } from '../qemu/qemu-machine';
import type { HostDuring } from './sample';

/** Linux's USER_HZ, the unit of /proc/stat's cpu line (proc(5)). */
const USER_HZ = 100;
/** Often enough to give a boot stage of a second or two its own share of the wait; /proc reads cost next to nothing. */
const POLL_MS = 1000;

/** Busy CPU seconds of the whole host so far: /proc/stat's cpu line minus idle and iowait. */
export function busySeconds(procStat: string): number {
  const cpu = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!cpu) throw new Error('no cpu line in /proc/stat');
  const f = cpu.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / USER_HZ;
}

/** Every QEMU on the host (bench/host-load.ts tells them): pid -> CPU seconds. */
export function qemuCpu(procRoot = '/proc'): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of qemuPids(procRoot)) {
    try {
      const cpu = cpuSecondsOfStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
      if (cpu !== null) out.set(pid, cpu);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Watches the host while boots run: how many QEMU guests ran at once (ours and other
 * runs'), how many cores everything but QEMU kept busy, and for each watched guest how
 * long its vCPU waited for a host CPU. All go into each boot's sample, so the gate can
 * tell a slower stack from a busier host.
 */
export class HostSampler {
  private readonly t0: number;
  private readonly busy0: number;
  /** pid -> [CPU seconds when first seen, when last seen]. */
  private readonly guests = new Map<number, [number, number]>();
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly watched = new Map<string, { pid: number; startedAt: number; series: WaitSeries }>();

  constructor(
    private readonly procRoot = '/proc',
    /** ms; performance.now() but in tests. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.t0 = clock();
    this.busy0 = busySeconds(readFileSync(join(procRoot, 'stat'), 'utf8'));
    this.poll(true);
    this.timer = setInterval(() => this.poll(false), POLL_MS);
    this.timer.unref();
  }

  /** Follows one guest's vCPU wait; `startedAt` is its QEMU's spawn (the clock's ms), its stage marks' zero. */
  watch(name: string, pid: number, startedAt: number): void {
    this.watched.set(name, { pid, startedAt, series: new WaitSeries() });
    this.poll(false);
  }

  private poll(first: boolean): void {
    const t = this.clock();
    for (const g of this.watched.values()) {
      const w = vcpuWaitMs(g.pid, this.procRoot);
      if (w !== null) g.series.add(t - g.startedAt, w);
    }
    const now = qemuCpu(this.procRoot);
    this.peak = Math.max(this.peak, now.size);
    for (const [pid, cpu] of now) {
      const seen = this.guests.get(pid);
      // A guest that starts after the first look used all its CPU time in the window.
      if (seen) seen[1] = cpu;
      else this.guests.set(pid, [first ? cpu : 0, cpu]);
    }
  }

  /** Stops watching and says what the host did meanwhile. */
  stop(): HostDuring {
    clearInterval(this.timer);
    this.poll(false);
    const wall = (this.clock() - this.t0) / 1000;
    const busy = busySeconds(readFileSync(join(this.procRoot, 'stat'), 'utf8')) - this.busy0;
    let guestCpu = 0;
    for (const [a, b] of this.guests.values()) guestCpu += b - a;
    const otherLoad = wall > 0 ? Math.max(0, (busy - guestCpu) / wall) : 0;
    return {
      otherLoad: Math.round(otherLoad * 100) / 100,
      guestsAtOnce: this.peak,
      waits: new Map([...this.watched].map(([name, g]) => [name, g.series])),
    };
  }
}

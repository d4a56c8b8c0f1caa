import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_LABEL, RUN_LABEL } from '../common/run-context';
import { qemuPids } from '../common/proc-stat';
import { vcpuWaitMs, WaitSeries } from './guest-wait';
import { cpuSecondsOfStat } from '../qemu/proc-metrics';
import type { HostDuring } from './sample';
import { budgetMs } from '../common/budgets';

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
 * The host's CPU pressure so far, ms: the time in which at least one runnable task waited
 * for a CPU (/proc/pressure/cpu, line "some", total in µs; the kernel's
 * Documentation/accounting/psi.rst). Null where the kernel has no PSI.
 */
export function cpuStallMs(procRoot = '/proc'): number | null {
  try {
    const some = readFileSync(join(procRoot, 'pressure', 'cpu'), 'utf8').split('\n').find((l) => l.startsWith('some '));
    const total = /\btotal=(\d+)/.exec(some ?? '')?.[1];
    return total === undefined ? null : Number(total) / 1000;
  } catch {
    return null;
  }
}

/** Run ids of the labs whose server container is on the host (docker label ltsp-lab.role=server). */
export type LabLister = () => Promise<string[]>;

/** How often the sampler asks Docker which labs' servers run: a `docker ps` is cheap, but not free. */
const LABS_EVERY_POLLS = 5;

export const dockerLabServers: LabLister = () =>
  new Promise((resolve) => {
    execFile('docker', ['ps', '--filter', `label=${LAB_LABEL}.role=server`, '--format', `{{.Label "${RUN_LABEL}"}}`], { timeout: budgetMs('dockerPs') }, (err, stdout) => {
      // No Docker answer: no lab is seen, and the QEMU count still tells other runs' guests.
      resolve(err ? [] : stdout.split('\n').map((l) => l.trim()).filter(Boolean));
    });
  });

export interface SamplerOptions {
  procRoot?: string;
  /** ms; performance.now() but in tests. */
  clock?: () => number;
  /** The run whose boots are judged: its own server is not company. */
  ownRun?: string;
  /** Its state folder: a QEMU whose command line points into it is its own (another lane's client, a probe), not another run's. */
  ownStateDir?: string;
  labs?: LabLister;
}

/**
 * Watches the host while boots run: how many QEMU guests ran at once (ours and other
 * runs'), how many cores everything but QEMU kept busy, and for each watched guest how
 * long its vCPU waited for a host CPU. All go into each boot's sample, so the gate can
 * tell a slower stack from a busier host.
 */
export class HostSampler {
  private readonly procRoot: string;
  private readonly clock: () => number;
  private readonly t0: number;
  private readonly busy0: number;
  /** pid -> [CPU seconds when first seen, when last seen]. */
  private readonly guests = new Map<number, [number, number]>();
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly watched = new Map<string, { pid: number; startedAt: number; series: WaitSeries }>();
  /** The host's CPU stall since the first look: points (clock ms, ms). */
  private readonly stall: [number, number][] = [];
  private stall0: number | null = null;
  /** Every poll's QEMU pids: which were other runs' is known only once the guests are watched. */
  private readonly qemuSeen: number[][] = [];
  private readonly otherLabs = new Set<string>();
  /** pid -> whether it is a QEMU of the judged run. */
  private readonly ownQemu = new Map<number, boolean>();
  private polls = 0;
  private asking: Promise<void> | undefined;

  constructor(private readonly opts: SamplerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.clock = opts.clock ?? (() => performance.now());
    this.t0 = this.clock();
    this.busy0 = busySeconds(readFileSync(join(this.procRoot, 'stat'), 'utf8'));
    this.stall0 = cpuStallMs(this.procRoot);
    this.poll(true);
    this.timer = setInterval(() => this.poll(false), POLL_MS);
    this.timer.unref();
  }

  /** Follows one guest's vCPU wait; `startedAt` is its QEMU's spawn (the clock's ms), its stage marks' zero. */
  watch(name: string, pid: number, startedAt: number): void {
    this.watched.set(name, { pid, startedAt, series: new WaitSeries() });
    this.poll(false);
  }

  /** Asks which labs' servers run, unless a question is still out; what comes back after stop() still counts for nothing. */
  private askLabs(): void {
    if (this.asking || !this.opts.labs) return;
    this.asking = this.opts.labs().then(
      (runs) => {
        for (const r of runs) if (r !== this.opts.ownRun) this.otherLabs.add(r);
        this.asking = undefined;
      },
      () => (this.asking = undefined),
    );
  }

  private poll(first: boolean): void {
    const t = this.clock();
    for (const g of this.watched.values()) {
      const w = vcpuWaitMs(g.pid, this.procRoot);
      if (w !== null) g.series.add(t - g.startedAt, w);
    }
    const stall = cpuStallMs(this.procRoot);
    if (stall !== null && this.stall0 !== null) this.stall.push([t, stall - this.stall0]);
    if (this.polls++ % LABS_EVERY_POLLS === 0) this.askLabs();
    const now = qemuCpu(this.procRoot);
    for (const pid of now.keys()) if (!this.ownQemu.has(pid)) this.ownQemu.set(pid, this.isOwn(pid));
    this.qemuSeen.push([...now.keys()]);
    this.peak = Math.max(this.peak, now.size);
    for (const [pid, cpu] of now) {
      const seen = this.guests.get(pid);
      // A guest that starts after the first look used all its CPU time in the window.
      if (seen) seen[1] = cpu;
      else this.guests.set(pid, [first ? cpu : 0, cpu]);
    }
  }

  private isOwn(pid: number): boolean {
    if (!this.opts.ownStateDir) return false;
    try {
      return readFileSync(join(this.procRoot, String(pid), 'cmdline'), 'utf8').includes(`${this.opts.ownStateDir}/`);
    } catch {
      return false;
    }
  }

  /** Waits for the last answer about other labs (bounded by the lister's own timeout). */
  async settle(): Promise<void> {
    this.askLabs();
    await this.asking;
  }

  /** The host's stall since the first look at clock time t, interpolated. */
  private stallAt(t: number): number {
    const s = new WaitSeries();
    for (const [ta, ms] of this.stall) s.add(ta - this.t0, ms);
    return s.at(t - this.t0);
  }

  /** Stops watching and says what the host did meanwhile; settle() first to count the last look at other labs. */
  stop(): HostDuring {
    clearInterval(this.timer);
    this.poll(false);
    const wall = (this.clock() - this.t0) / 1000;
    const busy = busySeconds(readFileSync(join(this.procRoot, 'stat'), 'utf8')) - this.busy0;
    let guestCpu = 0;
    for (const [a, b] of this.guests.values()) guestCpu += b - a;
    const otherLoad = wall > 0 ? Math.max(0, (busy - guestCpu) / wall) : 0;
    const ours = new Set([...this.watched.values()].map((g) => g.pid));
    for (const [pid, own] of this.ownQemu) if (own) ours.add(pid);
    const foreignGuests = Math.max(0, ...this.qemuSeen.map((pids) => pids.filter((p) => !ours.has(p)).length));
    // Each guest's share of the host's stall, on its own clock (ms since its QEMU started).
    const stalls = this.stall.length
      ? new Map(
          [...this.watched].map(([name, g]) => {
            const s = new WaitSeries();
            for (const [t, ms] of this.stall) if (t >= g.startedAt) s.add(t - g.startedAt, ms - this.stallAt(g.startedAt));
            return [name, s] as const;
          }),
        )
      : undefined;
    return {
      otherLoad: Math.round(otherLoad * 100) / 100,
      guestsAtOnce: this.peak,
      foreignGuests,
      otherLabs: [...this.otherLabs].sort(),
      waits: new Map([...this.watched].map(([name, g]) => [name, g.series])),
      ...(stalls ? { stalls } : {}),
    };
  }
}

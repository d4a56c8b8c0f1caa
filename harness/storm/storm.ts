import { closeSync, openSync, readFileSync } from 'node:fs';
import { Deadline } from '../common/deadline';
import { budgetMs } from '../common/budgets';
import { execCommand } from '../common/exec';
import { UsageError } from '../common/errors';
import { stepDeadline } from '../common/run-deadline';
import type { StartedLab } from '../lab/lab';
import { NBD_DEFAULT_PORT } from '../nbd/nbd-protocol';
import type { StageMark } from '../results/types';
import { percentile, planReads, type Pace } from './replay-plan';
import { replayClient, type ReplayError, type ReplayResult } from './replay-client';
import { ServerSampler, type ServerFigures } from './server-stats';
import type { Trace } from './trace';

export interface StormOptions {
  clients: number;
  pace: Pace;
  /** Real QEMU clients booted during the storm (0..2). */
  real: number;
  /** Each replayed client connects at a random moment in [0, jitterMs). */
  jitterMs: number;
  /** Compare every reply with the image file the server serves. */
  verify: boolean;
  /**
   * With real clients: the replayed clients' jitter window opens when the first real
   * client reaches this stage (default 'initramfs'), so that its NBD phase meets the
   * storm; under TCG a QEMU client gets to its root some 20 s after power-on.
   */
  stormAt?: string;
  /** Seed of the jitter, so a run can be repeated. */
  seed?: number;
  onProgress?: (line: string) => void;
}

export interface ClientFigures {
  name: string;
  startMs: number;
  handshakeMs: number;
  totalMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  completed: number;
  planned: number;
  verified: number;
  errors: ReplayError[];
}

export interface RealClientFigures {
  name: string;
  /** ms from the storm's start to QEMU start. */
  startMs: number;
  /** ms from QEMU start to the login prompt; NaN if it did not get there. */
  loginMs: number;
  marks: StageMark[];
  error?: string;
}

export interface StormResult {
  clients: number;
  pace: Pace;
  jitterMs: number;
  trace: { imageKey: string; requests: number; reads: number; recordedLoginMs: number; recordedReplayMs: number };
  /** ms from the storm's start to its last client's end. */
  wallMs: number;
  replayed: ClientFigures[];
  /** Over the replayed clients: their total replay times' p50/p95/max, all their reads' latency p50/p95/max. */
  summary: { totalP50Ms: number; totalP95Ms: number; totalMaxMs: number; latP50Ms: number; latP95Ms: number; latMaxMs: number; completed: number; errors: number };
  server: ServerFigures;
  /** The replaying process itself (one Node thread for every replayed client): CPU over the storm's wall time, 100 = one core. */
  harness: { cpuPercent: number };
  /** The host's 1-minute load average at the storm's end (the host is shared with other guests). */
  hostLoad: number;
  real: RealClientFigures[];
}

/** File descriptors the harness needs beside the storm's sockets (logs, pipes, docker calls). */
const FD_RESERVE = 256;

/**
 * Refuses a storm this host cannot hold before anything connects: each replayed client
 * is a socket (a descriptor) and a local port towards the server's one address and port.
 */
export function checkStormFits(clients: number, limits = hostLimits()): void {
  const fit = Math.min(limits.openFiles - FD_RESERVE, limits.ports);
  if (clients > fit) {
    throw new UsageError(`--clients ${clients} does not fit this host: ${limits.openFiles} open files (ulimit -n) less ${FD_RESERVE} for the harness, ${limits.ports} local ports (ip_local_port_range); at most ${fit} clients fit`, {
      hint: `raise ulimit -n, or use --clients ${fit} or fewer`,
    });
  }
}

export function hostLimits(): { openFiles: number; ports: number } {
  const lim = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return { openFiles: Number(lim?.[1] ?? 1024), ports: (hi ?? 60999) - (lo ?? 32768) + 1 };
}

/** A small seeded generator (mulberry32), so a storm's jitter can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A classroom on the lab's real server: `clients` NBD connections, each replaying the
 * trace from its own start, and `real` QEMU clients booting among them. Ends by the
 * stormReplay budget whatever the server does; every socket is closed when it returns.
 */
export async function runStorm(lab: StartedLab, trace: Trace, o: StormOptions): Promise<StormResult> {
  checkStormFits(o.clients);
  const plan = planReads(trace);
  const deadline = stepDeadline(budgetMs('stormReplay'), `storm of ${o.clients} replayed clients`);
  const pid = Number((await execCommand('docker', ['inspect', '-f', '{{.State.Pid}}', lab.server.getId()], { deadline: Deadline.after(budgetMs('labWatch'), 'the server container pid') })).stdout.trim());
  const sampler = new ServerSampler(pid).start();
  const rand = seeded(o.seed ?? 1);
  const fd = o.verify ? openSync(lab.served.rootImage, 'r') : undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const recordedReplayMs = trace.rows.length ? Math.max(...trace.rows.map((r) => r[4] ?? r[0])) - trace.header.transmissionMs : 0;
  try {
    const reached: Promise<void>[] = [];
    const realRuns = Array.from({ length: o.real }, (_, i) => bootReal(lab, `r${i + 1}`, t0, o.stormAt ?? 'initramfs', (p) => reached.push(p)));
    // The first real client at its stage opens the window; one that fails opens it too.
    const opened = reached.length ? Promise.race(reached) : Promise.resolve();
    await opened;
    const windowAt = performance.now() - t0;
    const replays = Array.from({ length: o.clients }, (_, i) => {
      const startMs = Math.floor(windowAt + rand() * o.jitterMs);
      return new Promise<void>((resolve) => setTimeout(resolve, startMs - (performance.now() - t0))).then(() =>
        replayClient({
          name: `s${i + 1}`,
          host: lab.server.ip,
          port: NBD_DEFAULT_PORT,
          exportName: trace.header.exportName,
          plan,
          pace: o.pace,
          maxInFlight: Math.max(1, trace.header.maxInFlight),
          startMs,
          ...(fd === undefined ? {} : { imageFd: fd }),
          deadline,
        }),
      );
    });
    let left = o.clients;
    for (const r of replays) void r.then(() => --left % 10 === 0 && o.onProgress?.(`storm: ${o.clients - left}/${o.clients} replays done`));
    const results = await Promise.all(replays);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const real = await Promise.all(realRuns);
    const server = sampler.stop();
    const replayed = results.map(clientFigures);
    const totals = replayed.map((c) => c.totalMs).filter((x) => !Number.isNaN(x));
    const lat = results.flatMap((r) => r.latencies);
    return {
      clients: o.clients,
      pace: o.pace,
      jitterMs: o.jitterMs,
      trace: { imageKey: trace.header.imageKey, requests: trace.header.requests, reads: plan.length, recordedLoginMs: trace.header.loginMs, recordedReplayMs: round(recordedReplayMs) },
      wallMs: round(wallMs),
      replayed,
      summary: {
        totalP50Ms: round(percentile(totals, 50)),
        totalP95Ms: round(percentile(totals, 95)),
        totalMaxMs: round(totals.length ? Math.max(...totals) : NaN),
        latP50Ms: round(percentile(lat, 50)),
        latP95Ms: round(percentile(lat, 95)),
        latMaxMs: round(lat.length ? lat.reduce((a, b) => Math.max(a, b), 0) : NaN),
        completed: results.reduce((s, r) => s + r.completed, 0),
        errors: results.reduce((s, r) => s + r.errors.length, 0),
      },
      server,
      harness: { cpuPercent: round(((cpu.user + cpu.system) / 1000 / wallMs) * 100) },
      hostLoad: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      real,
    };
  } finally {
    sampler.stop();
    if (fd !== undefined) closeSync(fd);
  }
}

function clientFigures(r: ReplayResult): ClientFigures {
  return {
    name: r.name,
    startMs: r.startMs,
    handshakeMs: round(r.handshakeMs),
    totalMs: round(r.totalMs),
    p50Ms: round(percentile(r.latencies, 50)),
    p95Ms: round(percentile(r.latencies, 95)),
    maxMs: round(r.latencies.reduce((a, b) => Math.max(a, b), 0)),
    completed: r.completed,
    planned: r.planned,
    verified: r.verified,
    errors: r.errors,
  };
}

async function bootReal(lab: StartedLab, name: string, t0: number, stormAt: string, onReach: (p: Promise<void>) => void): Promise<RealClientFigures> {
  const startMs = round(performance.now() - t0);
  let reach!: () => void;
  onReach(new Promise<void>((resolve) => (reach = resolve)));
  try {
    const c = await lab.client(name).start();
    try {
      const booting = c.waitForBoot();
      void c.reached(stormAt, Deadline.after(c.bootBudgetMs(), `${name} to reach ${stormAt}`)).catch(() => undefined).finally(reach);
      const marks = await booting;
      const login = marks.find((m) => m.stage === 'login');
      return { name, startMs, loginMs: login ? login.t : NaN, marks };
    } finally {
      await c.stop();
    }
  } catch (e) {
    reach();
    return { name, startMs, loginMs: NaN, marks: [], error: (e as Error).message.split('\n')[0] ?? '' };
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

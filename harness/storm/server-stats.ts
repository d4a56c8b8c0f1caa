import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NBD_DEFAULT_PORT } from '../nbd/nbd-protocol';

/** One look at the server container, from the host's /proc and the container's cgroup. */
export interface ServerSample {
  atMs: number;
  /** cgroup cpu.stat usage_usec: CPU time of everything in the container. */
  cpuUsec: number;
  /** cgroup memory.current (page cache it charged included). */
  memoryBytes: number;
  /** Sum of VmRSS of the nbd-server processes. */
  nbdRssKb: number;
  nbdProcesses: number;
  nbdThreads: number;
  /** ESTABLISHED TCP connections on port 10809 in the container's network namespace. */
  nbdConnections: number;
  /** Bytes the container's interfaces sent (not lo). */
  txBytes: number;
  /**
   * ms the nbd-server threads seen so far spent runnable but waiting for a CPU
   * (/proc/PID/task/TID/schedstat, field 2), summed: the host's run queue, not the server's work.
   */
  nbdRunDelayMs: number;
}

export interface ServerFigures {
  cpuSeconds: number;
  /** CPU time over wall time, as top shows it (100 = one core). */
  cpuPercent: number;
  peakMemoryMiB: number;
  peakNbdRssMiB: number;
  peakNbdProcesses: number;
  peakNbdThreads: number;
  peakConnections: number;
  bytesServed: number;
  /** ms nbd-server's threads waited, runnable, for a CPU during the storm (all threads summed). */
  nbdRunDelayMs: number;
  samples: number;
}

const read = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/**
 * Samples a container's load every `everyMs` from outside it: its cgroup (v2) for CPU
 * and memory, /proc of its processes for nbd-server's RSS and threads, its network
 * namespace's /proc/PID/net for connections and bytes sent. No docker call per sample.
 */
export class ServerSampler {
  private readonly samples: ServerSample[] = [];
  private timer?: NodeJS.Timeout;
  private readonly files: CgroupFiles;
  /** Each nbd-server thread's last run delay (ns): a thread that exits keeps its share. */
  private readonly runDelay = new Map<string, number>();
  private readonly t0 = performance.now();

  constructor(private readonly pid: number, private readonly everyMs = 500) {
    this.files = cgroupFiles(read(`/proc/${pid}/cgroup`), (p) => read(p) !== '');
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): ServerFigures {
    clearInterval(this.timer);
    this.sample();
    return figures(this.samples);
  }

  sample(): ServerSample {
    const cpuUsec = this.files.cpuUsec(read(this.files.cpu));
    let rss = 0;
    let procs = 0;
    let threads = 0;
    for (const p of read(this.files.procs).split('\n').filter(Boolean)) {
      if (read(`/proc/${p}/comm`).trim() !== 'nbd-server') continue;
      const st = read(`/proc/${p}/status`);
      procs++;
      rss += Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0);
      threads += Number(/Threads:\s+(\d+)/.exec(st)?.[1] ?? 0);
      let tids: string[] = [];
      try {
        tids = readdirSync(`/proc/${p}/task`);
      } catch {
        /* gone */
      }
      for (const tid of tids) {
        const delay = Number(read(`/proc/${p}/task/${tid}/schedstat`).split(' ')[1] ?? NaN);
        if (!Number.isNaN(delay)) this.runDelay.set(`${p}/${tid}`, delay);
      }
    }
    const s: ServerSample = {
      atMs: performance.now() - this.t0,
      cpuUsec,
      memoryBytes: Number(read(this.files.memory).trim() || 0),
      nbdRssKb: rss,
      nbdProcesses: procs,
      nbdThreads: threads,
      nbdConnections: countEstablished(read(`/proc/${this.pid}/net/tcp`)) + countEstablished(read(`/proc/${this.pid}/net/tcp6`)),
      txBytes: txBytes(read(`/proc/${this.pid}/net/dev`)),
      nbdRunDelayMs: [...this.runDelay.values()].reduce((a, b) => a + b, 0) / 1e6,
    };
    this.samples.push(s);
    return s;
  }
}

interface CgroupFiles {
  cpu: string;
  cpuUsec: (text: string) => number;
  memory: string;
  procs: string;
}

/**
 * Where a process's cgroup keeps its CPU time, memory and processes: cgroup v2's one
 * folder (cpu.stat usage_usec, memory.current) or v1's controllers (cpuacct.usage in ns,
 * memory.usage_in_bytes), from /proc/PID/cgroup.
 */
export function cgroupFiles(procCgroup: string, exists: (path: string) => boolean, root = '/sys/fs/cgroup'): CgroupFiles {
  const lines = procCgroup.split('\n').filter(Boolean).map((l) => l.split(':'));
  const v1 = (ctl: string): string | undefined => lines.find(([, ctls]) => ctls?.split(',').includes(ctl))?.[2];
  const cpuacct = v1('cpuacct');
  const memory = v1('memory');
  if (cpuacct !== undefined && exists(join(root, 'cpuacct', cpuacct, 'cpuacct.usage'))) {
    return {
      cpu: join(root, 'cpuacct', cpuacct, 'cpuacct.usage'),
      cpuUsec: (t) => Number(t.trim() || 0) / 1000,
      memory: join(root, 'memory', memory ?? cpuacct, 'memory.usage_in_bytes'),
      procs: join(root, 'cpuacct', cpuacct, 'cgroup.procs'),
    };
  }
  const unified = join(root, lines.find(([id]) => id === '0')?.[2] ?? '/');
  return {
    cpu: join(unified, 'cpu.stat'),
    cpuUsec: (t) => Number(/usage_usec (\d+)/.exec(t)?.[1] ?? 0),
    memory: join(unified, 'memory.current'),
    procs: join(unified, 'cgroup.procs'),
  };
}

/** /proc/net/tcp rows: local address :PORT in hex, state 01 (ESTABLISHED). */
export function countEstablished(table: string, port = NBD_DEFAULT_PORT): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return table.split('\n').slice(1).filter((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hex}`) && f[3] === '01';
  }).length;
}

/** /proc/net/dev: the sum of every interface's transmitted bytes but lo's. */
export function txBytes(dev: string): number {
  let sum = 0;
  for (const l of dev.split('\n').slice(2)) {
    const [name, rest] = l.split(':');
    if (!rest || name?.trim() === 'lo') continue;
    sum += Number(rest.trim().split(/\s+/)[8] ?? 0);
  }
  return sum;
}

export function figures(s: ServerSample[]): ServerFigures {
  const first = s[0];
  const last = s[s.length - 1];
  if (!first || !last) throw new Error('no server sample');
  const wallS = Math.max(0.001, (last.atMs - first.atMs) / 1000);
  const cpuSeconds = (last.cpuUsec - first.cpuUsec) / 1e6;
  const peak = (f: (x: ServerSample) => number): number => Math.max(...s.map(f));
  return {
    cpuSeconds: round(cpuSeconds),
    cpuPercent: round((cpuSeconds / wallS) * 100),
    peakMemoryMiB: round(peak((x) => x.memoryBytes) / 2 ** 20),
    peakNbdRssMiB: round(peak((x) => x.nbdRssKb) / 1024),
    peakNbdProcesses: peak((x) => x.nbdProcesses),
    peakNbdThreads: peak((x) => x.nbdThreads),
    peakConnections: peak((x) => x.nbdConnections),
    bytesServed: last.txBytes - first.txBytes,
    nbdRunDelayMs: Math.round(last.nbdRunDelayMs - first.nbdRunDelayMs),
    samples: s.length,
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import type { HostSpeed } from '../common/speed';
import type { BenchHost } from './types';

/**
 * QEMU processes on this host, by the binary in argv[0]: the lab's QEMU rename
 * themselves (-name c1,process=qemu-c1), so their comm says nothing.
 */
export function qemuPids(procRoot = '/proc'): number[] {
  const out: number[] = [];
  for (const pid of readdirSync(procRoot)) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv0 = readFileSync(join(procRoot, pid, 'cmdline'), 'utf8').split('\0', 1)[0] ?? '';
      if (basename(argv0).startsWith('qemu-system-')) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function qemuProcessCount(procRoot = '/proc'): number {
  return qemuPids(procRoot).length;
}

/** The machine a bench ran on, and how busy it was when it started. */
export function benchHost(speed: HostSpeed): BenchHost {
  return {
    cores: speed.cores,
    accel: speed.accel,
    accelReason: speed.accelReason,
    speedFactor: speed.factor,
    loadAvg1: loadavg()[0] ?? 0,
    otherQemu: qemuProcessCount(),
  };
}

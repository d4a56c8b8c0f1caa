import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { measureHostSpeed } from '../common/speed';
import type { BenchHost } from './types';

/** QEMU processes on this host (comm "qemu-system-x86", cut to 15 characters by the kernel). */
export function qemuProcessCount(procRoot = '/proc'): number {
  let n = 0;
  for (const pid of readdirSync(procRoot)) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`${procRoot}/${pid}/comm`, 'utf8').startsWith('qemu-system')) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** The machine a bench ran on, and how busy it was when it started. */
export function benchHost(): BenchHost {
  const speed = measureHostSpeed();
  return {
    cores: cpus().length,
    accel: speed.accel,
    speedFactor: speed.factor,
    loadAvg1: loadavg()[0] ?? 0,
    otherQemu: qemuProcessCount(),
  };
}

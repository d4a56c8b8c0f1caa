import { loadavg } from 'node:os';
import { qemuPids } from '../common/proc-stat';
import type { HostSpeed } from '../common/speed';
import type { BenchHost } from './types';

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

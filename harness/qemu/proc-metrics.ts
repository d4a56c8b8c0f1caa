import { readFileSync } from 'node:fs';
import { readProcStat, statField } from '../common/proc-stat';

/** Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on every Linux ABI). */
const USER_HZ = 100;

/** utime + stime (fields 14 and 15) from a /proc/PID/stat line, in seconds; null for a truncated line. */
export function cpuSecondsOfStat(stat: string): number | null {
  const utime = Number(statField(stat, 14));
  const stime = Number(statField(stat, 15));
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / USER_HZ;
}

/** CPU time process `pid` has used so far (all threads, user + system), in s; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  const stat = readProcStat(pid);
  return stat === null ? null : cpuSecondsOfStat(stat);
}

/** Resident set size of process `pid`, in KiB (null once it is gone). */
export function rssKb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The command line process `pid` runs with, as the kernel shows it (/proc/PID/cmdline); null once it is gone. */
export function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return null;
  }
}

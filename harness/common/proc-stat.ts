import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** A process's /proc/PID/stat line, or null once the process is gone. */
export function readProcStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Field `n` of a /proc/PID/stat line, numbered from 1 as in proc(5); undefined when the
 * line is shorter. The command name (field 2) is in parentheses and may hold spaces and
 * parentheses, so fields are counted after its last closing parenthesis.
 */
export function statField(stat: string, n: number): string | undefined {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3];
}

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

import { readFileSync } from 'node:fs';

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

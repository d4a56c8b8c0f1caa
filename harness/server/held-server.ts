import { readFileSync } from 'node:fs';
import type { Deadline } from '../common/deadline';
import { execCommand } from '../common/exec';

/** What holds a server container that runs but cannot answer. */
export interface HeldFacts {
  /** docker pause (State.Paused). */
  paused: boolean;
  /** Its cgroup frozen from outside Docker (cgroup v2 cgroup.events: frozen 1). */
  frozen: boolean;
  /** Its processes stopped by a signal (SIGSTOP, SIGTSTP): state T in /proc/PID/stat. */
  stopped: string[];
}

/** How a paused container is named, by describeHeld and by the lab's watch (docker's status 'paused'). */
export const PAUSED = 'paused (docker pause)';

/**
 * Why a server container that has not exited does not answer, when it is held from
 * outside: paused, frozen or stopped. Its clients then fail their boot stages though the
 * stack is fine, so the failure is the lab's, not the stack's. Undefined when it is not held.
 */
export function describeHeld(f: HeldFacts): string | undefined {
  if (f.paused) return PAUSED;
  if (f.frozen) return "frozen (its cgroup's freezer, cgroup.freeze)";
  if (f.stopped.length > 0) return `stopped by a signal (SIGSTOP): ${f.stopped.join(', ')}`;
  return undefined;
}

/** The container's cgroup folder, from its first process's /proc/PID/cgroup (v2: the `0::` line). */
function cgroupDir(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line === undefined ? undefined : `/sys/fs/cgroup${line.slice(3)}`;
  } catch {
    return undefined;
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The facts of a running container (docker inspect, its cgroup, its processes); undefined when Docker does not answer for it. */
export async function readHeldFacts(id: string, deadline: Deadline): Promise<HeldFacts | undefined> {
  const r = await execCommand('docker', ['inspect', '-f', '{{.State.Paused}} {{.State.Pid}}', id], { deadline, allowFailure: true });
  if (r.code !== 0) return undefined;
  const [paused, pidText] = r.stdout.trim().split(' ');
  const pid = Number(pidText);
  const dir = pid > 0 ? cgroupDir(pid) : undefined;
  const frozen = dir !== undefined && /^frozen 1$/m.test(read(`${dir}/cgroup.events`));
  const pids = dir === undefined ? [] : read(`${dir}/cgroup.procs`).split('\n').filter(Boolean);
  const stopped = pids.flatMap((p) => {
    // /proc/PID/stat: "pid (comm) state ...", comm may hold spaces and parentheses.
    const stat = read(`/proc/${p}/stat`);
    const close = stat.lastIndexOf(')');
    return stat.slice(close + 2, close + 3) === 'T' ? [`${stat.slice(stat.indexOf('(') + 1, close)} (pid ${p})`] : [];
  });
  return { paused: paused === 'true', frozen, stopped };
}

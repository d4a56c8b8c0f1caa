import { readFileSync } from 'node:fs';
import type { Deadline } from '../common/deadline';
import { execCommand } from '../common/exec';

/** What holds a server container that runs but cannot answer. */
export interface HeldFacts {
  /** docker pause (State.Paused). */
  paused: boolean;
  /** Its cgroup frozen from outside Docker (v2 cgroup.events: frozen 1; v1 freezer.state: FROZEN). */
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
  if (f.frozen) return "frozen (its cgroup's freezer)";
  if (f.stopped.length > 0) return `stopped by a signal (SIGSTOP): ${f.stopped.join(', ')}`;
  return undefined;
}

/**
 * The container's freezer: cgroup v2's folder (the `0::` line of /proc/PID/cgroup, its
 * cgroup.events says `frozen 1`) or, on a v1 host, the freezer controller's (its
 * freezer.state says FROZEN). Either folder's cgroup.procs lists the container's processes.
 */
function freezerOf(pid: number): { dir: string; frozen: () => boolean } | undefined {
  const lines = read(`/proc/${pid}/cgroup`).split('\n');
  const v1 = lines.find((l) => /^\d+:freezer:/.test(l));
  if (v1 !== undefined) {
    const dir = `/sys/fs/cgroup/freezer${v1.slice(v1.indexOf(':freezer:') + ':freezer:'.length)}`;
    return { dir, frozen: () => /^FROZEN$/m.test(read(`${dir}/freezer.state`)) };
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 === undefined) return undefined;
  const dir = `/sys/fs/cgroup${v2.slice(3)}`;
  return { dir, frozen: () => /^frozen 1$/m.test(read(`${dir}/cgroup.events`)) };
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
  const freezer = pid > 0 ? freezerOf(pid) : undefined;
  const frozen = freezer?.frozen() ?? false;
  const pids = freezer === undefined ? [] : read(`${freezer.dir}/cgroup.procs`).split('\n').filter(Boolean);
  const stopped = pids.flatMap((p) => {
    // /proc/PID/stat: "pid (comm) state ...", comm may hold spaces and parentheses.
    const stat = read(`/proc/${p}/stat`);
    const close = stat.lastIndexOf(')');
    return stat.slice(close + 2, close + 3) === 'T' ? [`${stat.slice(stat.indexOf('(') + 1, close)} (pid ${p})`] : [];
  });
  return { paused: paused === 'true', frozen, stopped };
}

import type { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';
import { ProcessGroup } from '../qemu-ts-wrapper';
import { budgetMs } from '../common/budgets';

export interface TimedLine {
  /** Epoch ms when the line arrived. */
  at: number;
  text: string;
}

export interface TimedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: TimedLine[];
  /** Epoch ms just before the spawn, and when the process was seen to end. */
  spawnedAt: number;
  exitedAt: number;
}

/**
 * Runs a command in its own process group to completion, with wall-clock stamps at
 * spawn, at exit and on each stderr line, to time another process from outside. Past
 * the deadline it gets SIGTERM (so it can tear down what it started), then SIGKILL.
 */
export async function runTimed(command: string, args: string[], opts: { name: string; deadline: Deadline; env?: NodeJS.ProcessEnv }): Promise<TimedRun> {
  const spawnedAt = Date.now();
  const proc = await ProcessGroup.spawn({ command, args, name: opts.name, env: { ...process.env, ...opts.env }, stdin: 'ignore' });
  let stdout = '';
  let closedAt: number | undefined;
  const stderr: TimedLine[] = [];
  let partial = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  // stdout closes when the process exits; 'exited' may wait a little longer for stderr.
  proc.stdout.once('close', () => (closedAt ??= Date.now()));
  proc.stderr.on('data', (c: Buffer) => {
    const at = Date.now();
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const text of lines) stderr.push({ at, text });
  });
  try {
    const status = await opts.deadline.race(proc.exited, () => new HarnessError(`${opts.name} did not finish within ${Math.round(opts.deadline.totalMs / 1000)} s`));
    const exitedAt = Math.min(closedAt ?? Date.now(), Date.now());
    if (partial) stderr.push({ at: exitedAt, text: partial });
    return { code: status.code, signal: status.signal, stdout, stderr, spawnedAt, exitedAt };
  } catch (e) {
    await proc.terminate(budgetMs('timedCommandGrace'));
    throw e;
  }
}

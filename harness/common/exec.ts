import { execFile } from 'node:child_process';
import type { Deadline } from './deadline';
import { HarnessError, SetupError } from './errors';
import { log } from './log';

const debug = log('exec');

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  deadline: Deadline;
  /** Return the result on a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a short host command (docker, ip, iptables) to completion within the deadline.
 * A missing binary is a SetupError; a non-zero exit a HarnessError naming the command
 * and its stderr, unless `allowFailure`.
 */
export function execCommand(command: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const line = [command, ...args].join(' ');
  debug('%s', line);
  const timeout = Math.max(1, Math.floor(opts.deadline.remaining()));
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        if (e && e.code === 'ENOENT') {
          reject(new SetupError(`${command} is not installed (needed for: ${line})`, { hint: 'run ./lab setup' }));
          return;
        }
        if (e && e.killed) {
          reject(new HarnessError(`'${line}' did not finish within ${timeout} ms (${opts.deadline.what})`));
          return;
        }
        const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
        const result = { code, stdout: String(stdout), stderr: String(stderr) };
        if (code !== 0 && !opts.allowFailure) {
          reject(new HarnessError(`'${line}' failed (exit ${code}): ${result.stderr.trim() || result.stdout.trim()}`));
          return;
        }
        resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

import { spawn } from 'node:child_process';
import { labScript, hostBudgetMs } from '../../harness/index';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export const LAB_SCRIPT = labScript();

/** Runs ./lab with arguments to completion (bounded: killed after `timeoutMs`, by default a labCommand's budget). */
export function runLab(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Promise<CliResult> {
  const t0 = performance.now();
  const argv = [...(opts.prefix ?? []), LAB_SCRIPT, ...args];
  return new Promise((done) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, opts.timeoutMs ?? hostBudgetMs('labCommand'));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** A ./lab running in the background, in its own process group (its pid is node's: ./lab execs it; not so under a prefix). */
export interface BackgroundLab {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<CliResult>;
  /** Signals ./lab alone (as a user's kill would), or its whole group. */
  kill: (sig: NodeJS.Signals, group?: boolean) => void;
}

export function spawnLab(args: string[], opts: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): BackgroundLab {
  const t0 = performance.now();
  const argv = [...(opts.prefix ?? []), LAB_SCRIPT, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<CliResult>((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr, ms: performance.now() - t0 })));
  return {
    pid: child.pid as number,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (sig, group = false) => {
      try {
        process.kill(group ? -(child.pid as number) : (child.pid as number), sig);
      } catch {
        /* gone */
      }
    },
  };
}

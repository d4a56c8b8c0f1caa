import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LaunchError, ProcessStuckError } from './errors';
import { log, type Logger } from './log';

export interface SpawnSpec {
  command: string;
  args: string[];
  /** Short name for logs and errors, e.g. "qemu c1". */
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: 'pipe' | 'ignore';
  /** Written with the pid once spawned, removed when the process exits. */
  pidFile?: string;
  /** Once aborted, the spawn is refused with a LaunchError (a run that is stopping starts nothing new). */
  signal?: AbortSignal;
}

/**
 * What a caller learns of every group any caller spawns (like Playwright's list of
 * launched browsers): `refuse` may veto a spawn with a reason, and
 * `started`/`ended` see each group come and go, so a forced exit can SIGKILL them all.
 */
export interface SpawnWatcher {
  refuse?(name: string): string | undefined;
  started?(group: ProcessGroup): void;
  ended?(group: ProcessGroup): void;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type TerminateStep = 'exited' | 'sigterm' | 'sigkill';

const STDERR_TAIL_LINES = 200;
const STDERR_MAX_LINE = 4096;
const DEFAULT_GRACE_MS = 5000;
// After SIGKILL only an uninterruptible sleep (D state) keeps a process around.
const SIGKILL_WAIT_MS = 10_000;
const STDERR_DRAIN_MS = 200;

/**
 * A child spawned as the leader of its own process group (setsid via `detached`), so
 * it and everything it forks can be signalled together with kill(-pgid) (kill(2)).
 *
 * stdout is piped and left paused: the owner must consume it (or call
 * `stdout.resume()`), or the child blocks once the pipe buffer fills. stderr is read
 * here to keep a bounded tail for error messages and the `<prefix>:proc:<name>` log; other
 * readers can add their own 'data' listener.
 */
export class ProcessGroup implements AsyncDisposable {
  readonly pid: number;
  readonly name: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ExitStatus>;

  private static readonly watchers = new Set<SpawnWatcher>();
  private readonly input: Writable | null;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private partial = '';
  private terminating?: Promise<TerminateStep>;
  private readonly debug: Logger;

  private constructor(child: ChildProcess, spec: SpawnSpec) {
    this.child = child;
    this.pid = child.pid as number;
    this.name = spec.name;
    this.stdout = child.stdout as Readable;
    this.stderr = child.stderr as Readable;
    this.input = child.stdin;
    this.debug = log(`proc:${spec.name}`);

    const decoder = new StringDecoder('utf8');
    this.stderr.on('data', (chunk: Buffer) => this.recordStderr(decoder.write(chunk)));
    const stderrDone = new Promise<void>((resolve) => {
      this.stderr.once('close', () => {
        this.recordStderr(decoder.end());
        if (this.partial) this.pushTail(this.partial);
        this.partial = '';
        resolve();
      });
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (spec.pidFile) rmSync(spec.pidFile, { force: true });
        this.debug('exited code=%s signal=%s', code, signal);
        // 'exit' can overtake the last stderr bytes; callers build LaunchErrors from the
        // tail right after this resolves. A grandchild may hold the pipe open, so cap it.
        void settlesWithin(stderrDone, STDERR_DRAIN_MS).then(() => resolve({ code, signal }));
      });
    });
  }

  /** Adds a watcher of every spawn (see SpawnWatcher); returns its removal. */
  static watchSpawns(watcher: SpawnWatcher): () => void {
    ProcessGroup.watchers.add(watcher);
    return () => ProcessGroup.watchers.delete(watcher);
  }

  /** Resolves once the child is running; rejects with LaunchError if it could not be started. */
  static spawn(spec: SpawnSpec): Promise<ProcessGroup> {
    // A group spawned once its caller began to stop would outlive the stop (which stops
    // only what it saw): the spawn fails instead.
    let refused = spec.signal?.aborted ? String(spec.signal.reason ?? 'aborted') : undefined;
    for (const w of ProcessGroup.watchers) refused ??= w.refuse?.(spec.name);
    if (refused !== undefined) return Promise.reject(new LaunchError(`${spec.name}: not started: ${refused}`, { process: spec.name }));
    const child = spawn(spec.command, spec.args, {
      detached: true,
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      stdio: [spec.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        child.off('spawn', onSpawn);
        reject(launchError(spec, err));
      };
      const onSpawn = (): void => {
        child.off('error', onError);
        // Later errors (a failed kill, EPIPE on stdin) must not crash the runner.
        child.on('error', (err) => log(`proc:${spec.name}`)('error: %s', err.message));
        // EPIPE when the child stops reading stdin is the child's business, not a crash.
        child.stdin?.on('error', (err) => log(`proc:${spec.name}`)('stdin: %s', err.message));
        const group = new ProcessGroup(child, spec);
        if (spec.pidFile) {
          try {
            writeFileSync(spec.pidFile, `${group.pid}\n`);
          } catch (err) {
            group.signal('SIGKILL');
            reject(new LaunchError(`${spec.name}: cannot write pid file ${spec.pidFile}`, { process: spec.name, cause: err }));
            return;
          }
        }
        const watchers = [...ProcessGroup.watchers];
        for (const w of watchers) w.started?.(group);
        void group.exited.then(() => watchers.forEach((w) => w.ended?.(group)));
        group.debug('spawned pid %d: %s %s', group.pid, spec.command, spec.args.join(' '));
        resolve(group);
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
  }

  /** True until the group leader has exited. */
  isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes to the child's stdin (spawned with stdin 'pipe'); false when it has none. */
  write(data: string | Buffer): boolean {
    if (!this.input) return false;
    this.input.write(data);
    return true;
  }

  /** Closes the child's stdin (EOF for a reader like cat). */
  closeInput(): void {
    this.input?.end();
  }

  /** The last `n` lines of stderr, including an unterminated last line. */
  stderrTail(n = 40): string[] {
    const lines = this.partial ? [...this.tail, this.partial] : this.tail;
    return lines.slice(-n);
  }

  /** Sends `sig` to every process in the group; a group that is already gone is not an error. */
  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /**
   * SIGTERM to the group, `graceMs` to exit, then SIGKILL. Returns the step that ended
   * the leader. Stragglers the leader left in its group get SIGKILL either way.
   * Concurrent calls share one ladder.
   */
  terminate(graceMs = DEFAULT_GRACE_MS): Promise<TerminateStep> {
    this.terminating ??= this.runLadder(graceMs);
    return this.terminating;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  private async runLadder(graceMs: number): Promise<TerminateStep> {
    if (!this.isRunning()) {
      this.signal('SIGKILL');
      return 'exited';
    }
    this.signal('SIGTERM');
    if (await settlesWithin(this.exited, graceMs)) {
      this.signal('SIGKILL');
      return 'sigterm';
    }
    this.debug('still running %d ms after SIGTERM, sending SIGKILL', graceMs);
    this.signal('SIGKILL');
    if (await settlesWithin(this.exited, SIGKILL_WAIT_MS)) return 'sigkill';
    throw new ProcessStuckError(`${this.name} (pid ${this.pid}) still running ${SIGKILL_WAIT_MS} ms after SIGKILL`);
  }

  private recordStderr(text: string): void {
    if (!text) return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() as string;
    for (const line of parts) this.pushTail(line.replace(/\r$/, ''));
    while (this.partial.length > STDERR_MAX_LINE) {
      this.pushTail(this.partial.slice(0, STDERR_MAX_LINE));
      this.partial = this.partial.slice(STDERR_MAX_LINE);
    }
  }

  private pushTail(line: string): void {
    this.debug('stderr: %s', line);
    this.tail.push(line);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.splice(0, this.tail.length - STDERR_TAIL_LINES);
  }
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function launchError(spec: SpawnSpec, err: NodeJS.ErrnoException): LaunchError {
  const opts = { process: spec.name, cause: err, ...(err.code === undefined ? {} : { code: err.code }) };
  switch (err.code) {
    case 'ENOENT':
      // Node reports a missing cwd as ENOENT of the command too.
      if (spec.cwd !== undefined && !existsSync(spec.cwd)) {
        return new LaunchError(`${spec.name}: cannot start ${spec.command}: working directory ${spec.cwd} is missing`, opts);
      }
      return new LaunchError(`${spec.name}: cannot start ${spec.command}: binary is missing (not found in PATH)`, {
        ...opts,
        hint: `install ${spec.command} or put it on PATH`,
      });
    case 'EACCES':
      return new LaunchError(`${spec.name}: cannot start ${spec.command}: permission denied`, {
        ...opts,
        hint: `check that ${spec.command} is executable by this user`,
      });
    default:
      return new LaunchError(`${spec.name}: cannot start ${spec.command}: ${err.message}`, opts);
  }
}

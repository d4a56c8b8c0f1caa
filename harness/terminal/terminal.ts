import { PassThrough } from 'node:stream';
import type { IPty } from 'node-pty';
import { Deadline } from '../common/deadline';
import { LaunchError } from '../common/errors';
import { log } from '../common/log';
import { ConsoleLog, type ConsoleMatch, type FailPattern } from '../qemu-ts-wrapper';
import { budgetMs } from '../common/budgets';

const debug = log('terminal');

export interface TerminalExit {
  code: number;
  signal?: number;
}

/**
 * A program run in a pseudo-terminal (node-pty), as a person's terminal would run it:
 * it sees a TTY of a given size, can go raw, gets SIGWINCH on resize. What it prints is
 * matched like a console (ConsoleLog: cursor waits with deadlines, the tail in errors).
 * Builder; `start()` returns a StartedTerminal.
 *
 *   const t = await new Terminal('./lab', ['attach', run]).withSize(100, 30).start();
 */
export class Terminal {
  private cols = 80;
  private rows = 24;
  private env: NodeJS.ProcessEnv = process.env;
  private logFile?: string;
  private cwd?: string;

  constructor(
    readonly file: string,
    readonly args: readonly string[] = [],
    readonly name = file.split('/').pop() ?? file,
  ) {}

  withSize(cols: number, rows: number): this {
    this.cols = cols;
    this.rows = rows;
    return this;
  }

  withEnv(env: NodeJS.ProcessEnv): this {
    this.env = env;
    return this;
  }

  withCwd(dir: string): this {
    this.cwd = dir;
    return this;
  }

  /** What the terminal shows, as lines, appended to this file. */
  withLog(path: string): this {
    this.logFile = path;
    return this;
  }

  async start(): Promise<StartedTerminal> {
    // Loaded here: a native module only the terminal needs, not every ./lab command.
    const pty = await import('node-pty');
    let proc: IPty;
    try {
      proc = pty.spawn(this.file, [...this.args], {
        name: 'xterm-256color',
        cols: this.cols,
        rows: this.rows,
        env: Object.fromEntries(Object.entries(this.env).filter((e): e is [string, string] => e[1] !== undefined)),
        ...(this.cwd ? { cwd: this.cwd } : {}),
      });
    } catch (e) {
      throw new LaunchError(`${this.name}: cannot start ${this.file} in a pty: ${(e as Error).message}`, { process: this.name, cause: e });
    }
    debug('%s: pid %d, %dx%d', this.name, proc.pid, this.cols, this.rows);
    return new StartedTerminal(this.name, proc, this.logFile);
  }
}

export class StartedTerminal implements AsyncDisposable {
  /** What the terminal showed, matched as a console. */
  readonly screen: ConsoleLog;
  /** Settles when the program exits. */
  readonly exited: Promise<TerminalExit>;
  private running = true;

  constructor(
    readonly name: string,
    private readonly proc: IPty,
    logFile?: string,
  ) {
    const stream = new PassThrough();
    this.screen = new ConsoleLog({ name, ...(logFile ? { logFile } : {}) });
    this.screen.attach(stream);
    proc.onData((d) => stream.write(d));
    this.exited = new Promise((resolve) => {
      proc.onExit(({ exitCode, signal }) => {
        this.running = false;
        debug('%s: exited %d (signal %s)', name, exitCode, signal);
        stream.end();
        resolve({ code: exitCode, ...(signal ? { signal } : {}) });
      });
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Keys, as a person types them ("\r" is Enter, "\x1d" Ctrl-]). */
  type(keys: string): void {
    this.proc.write(keys);
  }

  /** Resizes the terminal: the program gets SIGWINCH. */
  resize(cols: number, rows: number): void {
    this.proc.resize(cols, rows);
  }

  /** The next match of `pattern` on the screen after the cursor (see ConsoleLog.waitFor). */
  waitFor(pattern: RegExp, deadline: Deadline, failOn: readonly FailPattern[] = []): Promise<ConsoleMatch> {
    return this.screen.waitFor(pattern, { deadline, failOn, exited: this.exited, what: `${this.name}: ${pattern.source}` });
  }

  /** Waits for the program to exit on its own. */
  async waitForExit(deadline: Deadline): Promise<TerminalExit> {
    return deadline.race(this.exited);
  }

  kill(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.proc.kill(sig);
  }

  /** SIGTERM, then SIGKILL after 5 s; idempotent. */
  async stop(): Promise<void> {
    if (this.running) {
      this.kill('SIGTERM');
      const gone = await Deadline.after(budgetMs('terminalExit'), `${this.name} to exit`).race(this.exited).then(() => true, () => false);
      if (!gone) this.kill('SIGKILL');
      await Deadline.after(budgetMs('terminalExit'), `${this.name} to exit after SIGKILL`).race(this.exited).catch(() => undefined);
    }
    await this.screen.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

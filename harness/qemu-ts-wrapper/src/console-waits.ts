import { performance } from 'node:perf_hooks';
import type { Deadline } from './deadline';
import { ConsoleWaitError, TAIL_LINES, type ConsoleWaitReason } from './errors';
import { publicLine, type ConsoleLine, type StoredLine } from './line-ring';

export interface FailPattern {
  name: string;
  pattern: RegExp;
}

export interface ConsoleMatch {
  line: ConsoleLine;
  /** `match.index` is relative to `line.text`. */
  match: RegExpMatchArray;
  /** When the match became visible, ms since the console's start. */
  t: number;
}

export interface WaitOptions {
  deadline: Deadline;
  /** Output that ends the wait at once. Default: the console's `failOn`; pass [] for none. */
  failOn?: readonly FailPattern[];
  /** Settles when the process behind the console exits. */
  exited?: Promise<unknown>;
  /** The step, for the error message. Default: the deadline's `what`. */
  what?: string;
  /** Where to start looking, from `cursor()` or `position()`. Default: `cursor()`. */
  from?: number;
}

/** What the waits read of their console: its name and tail for errors, and whether its input ended. */
export interface WaitedConsole {
  readonly name: string;
  tail(n: number): string[];
  /** True once the console's stream is attached and has not ended: an exit then waits for its last bytes. */
  streaming(): boolean;
  /** Resolves when the console's input ends. */
  readonly ended: Promise<void>;
}

interface CompiledPattern {
  name: string;
  re: RegExp;
}

/** One pending wait. */
export interface Waiter {
  readonly promise: Promise<ConsoleMatch>;
}

interface PendingWait extends Waiter {
  re: RegExp;
  display: string;
  fails: CompiledPattern[];
  pos: number;
  startedAt: number;
  what: string;
  exited?: Promise<unknown>;
  exitSeen: boolean;
  resolve: (m: ConsoleMatch) => void;
  reject: (err: Error) => void;
}

// The process 'exit' event can overtake the last bytes in the pipe; let them land first,
// so a panic message wins over a bare "exited".
const EXIT_DRAIN_MS = 500;

/**
 * A console's pending waits and its cursor. Each wait starts at the cursor (the end of
 * the previous successful match) unless told otherwise; a match moves the cursor past
 * it, so output from before a reboot cannot satisfy a wait after it. A failure pattern
 * on a whole line, the process's exit or the console's end fails a wait with a
 * ConsoleWaitError that ends with the console's tail.
 */
export class ConsoleWaits {
  private readonly pending = new Set<PendingWait>();
  /** Where the next wait starts. */
  cursor = 0;

  constructor(
    private readonly console: WaitedConsole,
    private readonly defaultFailOn: readonly FailPattern[],
  ) {}

  /** A new wait for `pattern` from `opts.from` (default: the cursor); test it against what is there, then arm() it. */
  add(pattern: RegExp | string, opts: WaitOptions): Waiter {
    let resolve!: (m: ConsoleMatch) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<ConsoleMatch>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w: PendingWait = {
      promise,
      re: compile(pattern),
      display: typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern),
      fails: (opts.failOn ?? this.defaultFailOn).map((f) => ({ name: f.name, re: compile(f.pattern) })),
      pos: opts.from ?? this.cursor,
      startedAt: performance.now(),
      what: opts.what ?? opts.deadline.what,
      ...(opts.exited ? { exited: opts.exited } : {}),
      exitSeen: false,
      resolve,
      reject,
    };
    this.pending.add(w);
    return w;
  }

  /** Where `w` starts looking. */
  from(w: Waiter): number {
    return (w as PendingWait).pos;
  }

  isPending(w: Waiter): boolean {
    return this.pending.has(w as PendingWait);
  }

  /**
   * Once `w` saw what was there and is still pending: the console's end, the process's
   * exit and the deadline end it.
   */
  arm(w: Waiter, opts: WaitOptions, ended: boolean): Promise<ConsoleMatch> {
    const pw = w as PendingWait;
    if (ended) void this.onEnd(pw);
    opts.exited?.then(
      () => this.onExit(pw),
      () => this.onExit(pw),
    );
    return opts.deadline.race(pw.promise, () => {
      this.pending.delete(pw);
      return this.error(pw, 'timeout');
    });
  }

  /** Tests every pending wait against `line` (see test). */
  testAll(line: StoredLine, seenAt: number, partial = false): void {
    for (const w of this.pending) this.test(w, line, seenAt, partial);
  }

  /**
   * Tests `w` against `line`; `seenAt`: when the text became visible, for the match's `t`.
   * `partial`: the line has no newline yet. The wanted pattern may match it (prompts end
   * without one); failure patterns wait for the whole line, so the error quotes it in
   * full rather than the first chunk of it.
   */
  test(w: Waiter, line: StoredLine, seenAt: number, partial = false): void {
    const pw = w as PendingWait;
    if (!this.pending.has(pw)) return;
    const end = line.start + line.text.length;
    if (end < pw.pos) return;
    const offset = Math.max(0, pw.pos - line.start);
    pw.re.lastIndex = offset;
    const m = pw.re.exec(line.text);
    if (m) {
      this.pending.delete(pw);
      this.cursor = Math.max(this.cursor, line.start + m.index + m[0].length);
      pw.resolve({ line: publicLine(line), match: m, t: seenAt });
      return;
    }
    if (partial) return;
    for (const f of pw.fails) {
      f.re.lastIndex = offset;
      if (f.re.test(line.text)) {
        this.pending.delete(pw);
        pw.reject(this.error(pw, 'failure-pattern', f.name, line.text));
        return;
      }
    }
  }

  /** The console's input ended: every pending wait fails ('exited' if its process did, else 'closed'). */
  endAll(): void {
    for (const w of this.pending) void this.onEnd(w);
  }

  private onExit(w: PendingWait): void {
    if (!this.pending.has(w)) return;
    w.exitSeen = true;
    if (!this.console.streaming()) {
      this.fail(w, 'exited');
      return;
    }
    void settled(this.console.ended, EXIT_DRAIN_MS).then(() => this.fail(w, 'exited'));
  }

  private async onEnd(w: PendingWait): Promise<void> {
    // A closed console usually means the process exited; say so if it did.
    if (w.exited && !w.exitSeen) await settled(w.exited, EXIT_DRAIN_MS);
    this.fail(w, w.exitSeen ? 'exited' : 'closed');
  }

  private fail(w: PendingWait, reason: ConsoleWaitReason): void {
    if (!this.pending.delete(w)) return;
    w.reject(this.error(w, reason));
  }

  private error(w: PendingWait, reason: ConsoleWaitReason, failure?: string, failureLine?: string): ConsoleWaitError {
    return new ConsoleWaitError({
      console: this.console.name,
      pattern: w.display,
      reason,
      what: w.what,
      elapsedMs: performance.now() - w.startedAt,
      consoleTail: this.console.tail(TAIL_LINES),
      ...(failure === undefined ? {} : { matchedFailure: failure, failureLine }),
    });
  }
}

function compile(pattern: RegExp | string): RegExp {
  if (typeof pattern === 'string') return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
  // 'g' so lastIndex can start the search at the cursor; 'y' would pin it there.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + 'g');
}

/** Resolves when `p` settles or after `ms`, whichever is first. */
function settled(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}

import { createWriteStream, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Deadline } from './deadline';
import { ConsoleLogError, ConsoleWaitError, TAIL_LINES, type ConsoleWaitReason } from './errors';
import { log, type Logger } from './log';

/** One console line: `t` is ms since the console's start, `text` has escapes and \r stripped. */
export interface ConsoleLine {
  index: number;
  t: number;
  text: string;
}

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

export interface ConsoleLogOptions {
  /** The VM name; used in errors and the `lab:console:<name>` debug namespace. */
  name: string;
  /** performance.now() when the process behind the console was spawned. */
  startedAt?: number;
  /** Completed lines are appended here as "[  12.345] text". */
  logFile?: string;
  /** Lines kept in memory. Default 20000. */
  maxLines?: number;
  /** Longer runs without a newline are split into several lines. Default 4096. */
  maxLineLength?: number;
  /** Failure patterns of every wait that names none of its own. Default: none. */
  failOn?: readonly FailPattern[];
}

interface StoredLine extends ConsoleLine {
  /** Position of the line's first character; the line occupies text.length + 1 positions. */
  start: number;
}

interface CompiledPattern {
  name: string;
  re: RegExp;
}

interface Waiter {
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

enum Esc {
  None,
  Esc,
  EscInter,
  Csi,
  Str,
  StrEsc,
}

// Everything the text fast path must stop at: C0 controls except \t, DEL, C1 controls.
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]/g;
// A sequence this long is garbage, not an escape; give the text back.
const MAX_ESCAPE_LENGTH = 1024;
// The process 'exit' event can overtake the last bytes in the pipe; let them land first,
// so a panic message wins over a bare "exited".
const EXIT_DRAIN_MS = 500;

/**
 * Records a serial console and matches it. Matching is line by line on text with ANSI
 * escapes, \r, backspaces and NULs removed, and also against the unterminated last line,
 * because prompts ("debian login: ") end without a newline.
 *
 * Waits consume the console: each starts at the cursor, the end of the previous
 * successful match, so output from before a reboot cannot satisfy a wait after it.
 * Positions (`cursor()`, `position()`) count stripped characters since the start and
 * only ever grow.
 */
export class ConsoleLog implements AsyncDisposable {
  readonly name: string;

  private readonly startedAt: number;
  private readonly maxLines: number;
  private readonly maxLineLength: number;
  private readonly debug: Logger;
  private readonly defaultFailOn: readonly FailPattern[];
  private readonly decoder = new StringDecoder('utf8');
  private readonly file?: WriteStream;
  private failLog!: (e: ConsoleLogError) => void;
  /**
   * Rejects with a ConsoleLogError when the log file cannot be written (a full disk): a boot
   * whose console is not on record must stop rather than run on unseen.
   */
  readonly logFailed: Promise<never>;
  /** Set when the log file stopped short: what it holds, and why. */
  logIncomplete?: string;
  private fileBuffer = '';
  private fileClosed = false;

  private readonly ring: StoredLine[] = [];
  private head = 0;
  private nextIndex = 0;

  private partial = '';
  private partialT: number | null = null;
  private partialDirty = false;
  private partialStart = 0;

  private esc = Esc.None;
  private escLength = 0;
  private chunkT = 0;

  private consumed = 0;
  private readonly waiters = new Set<Waiter>();
  private attached = false;
  private ended = false;
  private readonly endedPromise: Promise<void>;
  private markEnded!: () => void;

  constructor(opts: ConsoleLogOptions) {
    this.name = opts.name;
    this.startedAt = opts.startedAt ?? performance.now();
    this.maxLines = opts.maxLines ?? 20_000;
    this.maxLineLength = opts.maxLineLength ?? 4096;
    if (this.maxLines < 1 || this.maxLineLength < 1) throw new RangeError('maxLines and maxLineLength must be >= 1');
    this.debug = log(`console:${opts.name}`);
    this.defaultFailOn = opts.failOn ?? [];
    this.endedPromise = new Promise((resolve) => (this.markEnded = resolve));
    this.logFailed = new Promise<never>((_, reject) => (this.failLog = reject));
    this.logFailed.catch(() => undefined);
    if (opts.logFile) {
      const path = opts.logFile;
      const file = (this.file = createWriteStream(path, { flags: 'a' }));
      file.on('error', (err: NodeJS.ErrnoException) => {
        this.debug('console log %s failed: %s', path, err.message);
        this.fileClosed = true;
        this.logIncomplete = `the console log ${path} could not be written whole: it stops after ${file.bytesWritten} bytes (${err.code ?? err.message})`;
        this.failLog(new ConsoleLogError(`${this.name}: ${this.logIncomplete}`, { path, cause: err, ...(err.code === undefined ? {} : { code: err.code }) }));
      });
    }
  }

  /** Feeds the console from `stream` until it ends. Only once per console. */
  attach(stream: Readable): void {
    if (this.attached) throw new Error(`console ${this.name}: already attached`);
    this.attached = true;
    stream.on('data', (chunk: string | Buffer) => this.push(chunk));
    stream.once('end', () => this.end());
    stream.once('close', () => this.end());
    stream.on('error', (err) => {
      this.debug('stream error: %s', err.message);
      this.end();
    });
  }

  push(chunk: string | Buffer): void {
    if (this.ended) return;
    this.chunkT = this.now();
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    if (this.partialDirty && this.partial) {
      this.partialDirty = false;
      for (const w of this.waiters) this.test(w, this.partialLine(), this.chunkT, true);
    }
    this.flushFile();
  }

  /** End of input: the unterminated last line becomes a line, pending waits fail 'closed'. */
  end(): void {
    if (this.ended) return;
    this.chunkT = this.now();
    this.feed(this.decoder.end());
    this.esc = Esc.None;
    if (this.partial) this.completeLine();
    this.flushFile();
    this.ended = true;
    this.markEnded();
    for (const w of this.waiters) void this.onEnd(w);
  }

  /**
   * Resolves once every complete line received so far is in the log file, for a reader
   * of the file (the run report) while the guest still runs. Bounded by `deadline`; a log
   * that failed resolves at once (logFailed says why).
   */
  async synced(deadline: Deadline): Promise<void> {
    this.flushFile();
    const file = this.file;
    if (!file || this.fileClosed || file.writableLength === 0) return;
    await deadline.race(new Promise<void>((resolve) => file.write('', () => resolve())));
  }

  /** Flushes and closes the log file; the unterminated last line is written too. */
  async close(): Promise<void> {
    if (!this.file || this.fileClosed) return;
    if (this.partial) this.fileBuffer += `${formatLine(this.partialLine())}\n`;
    this.flushFile();
    this.fileClosed = true;
    const file = this.file;
    await new Promise<void>((resolve) => file.end(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Where the next wait starts: just after the last successful match. */
  cursor(): number {
    return this.consumed;
  }

  /** The end of everything received so far. */
  position(): number {
    return this.partialStart + this.partial.length;
  }

  /** Moves the cursor past everything received, e.g. before triggering a reboot. */
  skipToEnd(): number {
    this.consumed = Math.max(this.consumed, this.position());
    return this.consumed;
  }

  /** The retained lines, plus the unterminated last line if it is not empty. */
  lines(): ConsoleLine[] {
    const out: ConsoleLine[] = [];
    for (let i = 0; i < this.ring.length; i++) out.push(publicLine(this.at(i)));
    if (this.partial) out.push(publicLine(this.partialLine()));
    return out;
  }

  /**
   * Line `index` as it stands now: whole once its newline came, else the part received so
   * far (a wait resolves at its match, maybe mid-line); undefined once it left the ring.
   */
  line(index: number): ConsoleLine | undefined {
    if (index === this.nextIndex) return this.partial ? publicLine(this.partialLine()) : undefined;
    if (this.ring.length === 0) return undefined;
    const l = this.at(index - this.at(0).index);
    return l?.index === index ? publicLine(l) : undefined;
  }

  /** The last `n` lines as "[  12.345] text", the unterminated last line included. */
  tail(n = TAIL_LINES): string[] {
    const out: string[] = [];
    const fromRing = Math.min(this.ring.length, this.partial ? n - 1 : n);
    for (let i = this.ring.length - fromRing; i < this.ring.length; i++) out.push(formatLine(this.at(i)));
    if (this.partial && n > 0) out.push(formatLine(this.partialLine()));
    return out;
  }

  /**
   * Resolves at the first match of `pattern` (a RegExp, or a literal string) after the
   * cursor and moves the cursor past it. Rejects with ConsoleWaitError when a failure
   * pattern shows up, the process exits, the stream ends or the deadline passes.
   * Patterns match within one line; a match never spans a newline.
   */
  waitFor(pattern: RegExp | string, opts: WaitOptions): Promise<ConsoleMatch> {
    const w: Waiter = {
      re: compile(pattern),
      display: typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern),
      fails: (opts.failOn ?? this.defaultFailOn).map((f) => ({ name: f.name, re: compile(f.pattern) })),
      pos: opts.from ?? this.consumed,
      startedAt: performance.now(),
      what: opts.what ?? opts.deadline.what,
      ...(opts.exited ? { exited: opts.exited } : {}),
      exitSeen: false,
      resolve: () => undefined,
      reject: () => undefined,
    };
    const { deadline } = opts;
    const p = new Promise<ConsoleMatch>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    this.waiters.add(w);

    for (let i = this.firstLineAtOrAfter(w.pos); i < this.ring.length && this.waiters.has(w); i++) {
      this.test(w, this.at(i), this.at(i).t);
    }
    if (this.waiters.has(w) && this.partial) this.test(w, this.partialLine(), this.chunkT, true);
    if (!this.waiters.has(w)) return p;

    if (this.ended) void this.onEnd(w);
    opts.exited?.then(
      () => this.onExit(w),
      () => this.onExit(w),
    );
    return deadline.race(p, () => {
      this.waiters.delete(w);
      return this.waitError(w, 'timeout');
    });
  }

  // --- matching ---

  /** `seenAt`: when the text became visible, for the match's `t`. */
  /**
   * `partial`: the line has no newline yet. The wanted pattern may match it (prompts
   * end without one); failure patterns wait for the whole line, so the error quotes it
   * in full rather than the first chunk of it.
   */
  private test(w: Waiter, line: StoredLine, seenAt = this.chunkT, partial = false): void {
    const end = line.start + line.text.length;
    if (end < w.pos) return;
    const offset = Math.max(0, w.pos - line.start);
    w.re.lastIndex = offset;
    const m = w.re.exec(line.text);
    if (m) {
      this.waiters.delete(w);
      this.consumed = Math.max(this.consumed, line.start + m.index + m[0].length);
      w.resolve({ line: publicLine(line), match: m, t: seenAt });
      return;
    }
    if (partial) return;
    for (const f of w.fails) {
      f.re.lastIndex = offset;
      if (f.re.test(line.text)) {
        this.waiters.delete(w);
        w.reject(this.waitError(w, 'failure-pattern', f.name, line.text));
        return;
      }
    }
  }

  private onExit(w: Waiter): void {
    if (!this.waiters.has(w)) return;
    w.exitSeen = true;
    if (!this.attached || this.ended) {
      this.fail(w, 'exited');
      return;
    }
    void race(this.endedPromise, EXIT_DRAIN_MS).then(() => this.fail(w, 'exited'));
  }

  private async onEnd(w: Waiter): Promise<void> {
    // A closed console usually means the process exited; say so if it did.
    if (w.exited && !w.exitSeen) await race(w.exited, EXIT_DRAIN_MS);
    this.fail(w, w.exitSeen ? 'exited' : 'closed');
  }

  private fail(w: Waiter, reason: ConsoleWaitReason): void {
    if (!this.waiters.delete(w)) return;
    w.reject(this.waitError(w, reason));
  }

  private waitError(w: Waiter, reason: ConsoleWaitReason, failure?: string, failureLine?: string): ConsoleWaitError {
    return new ConsoleWaitError({
      console: this.name,
      pattern: w.display,
      reason,
      what: w.what,
      elapsedMs: performance.now() - w.startedAt,
      consoleTail: this.tail(TAIL_LINES),
      ...(failure === undefined ? {} : { matchedFailure: failure, failureLine }),
    });
  }

  // --- input ---

  private feed(s: string): void {
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.esc !== Esc.None) {
        if (!this.escape(s.charCodeAt(i))) i++;
        continue;
      }
      SPECIAL.lastIndex = i;
      const m = SPECIAL.exec(s);
      const j = m ? m.index : n;
      if (j > i) this.appendText(s.slice(i, j));
      if (!m) break;
      i = j + 1;
      switch (s.charCodeAt(j)) {
        case 0x0a:
          this.completeLine();
          break;
        case 0x1b:
          this.esc = Esc.Esc;
          this.escLength = 0;
          break;
        case 0x9b:
          this.esc = Esc.Csi;
          this.escLength = 0;
          break;
        case 0x90: // DCS
        case 0x9d: // OSC
        case 0x9e: // PM
        case 0x9f: // APC
          this.esc = Esc.Str;
          this.escLength = 0;
          break;
        default:
          // \r, \b, NUL, BEL and the other controls carry no text.
          break;
      }
    }
  }

  /**
   * One character inside an escape sequence (ECMA-48 sections 5.3-5.6). Returns true if
   * the character ended the sequence without belonging to it and must be read as text.
   */
  private escape(c: number): boolean {
    if (++this.escLength > MAX_ESCAPE_LENGTH) {
      this.esc = Esc.None;
      return true;
    }
    switch (this.esc) {
      case Esc.Esc:
        if (c === 0x5b /* [ */) this.esc = Esc.Csi;
        else if (c === 0x5d /* ] */ || c === 0x50 /* P */ || c === 0x58 /* X */ || c === 0x5e /* ^ */ || c === 0x5f /* _ */) {
          this.esc = Esc.Str;
        } else if (c >= 0x20 && c <= 0x2f) this.esc = Esc.EscInter;
        else if (c === 0x1b) this.escLength = 0;
        else if (c >= 0x30 && c <= 0x7e) this.esc = Esc.None;
        else return this.abortEscape();
        return false;
      case Esc.EscInter:
        if (c >= 0x20 && c <= 0x2f) return false;
        if (c >= 0x30 && c <= 0x7e) {
          this.esc = Esc.None;
          return false;
        }
        return this.abortEscape();
      case Esc.Csi:
        if (c >= 0x20 && c <= 0x3f) return false;
        if (c >= 0x40 && c <= 0x7e) {
          this.esc = Esc.None;
          return false;
        }
        return this.abortEscape();
      case Esc.Str:
        if (c === 0x07 || c === 0x9c) this.esc = Esc.None;
        else if (c === 0x1b) this.esc = Esc.StrEsc;
        else if (c === 0x0a) return this.abortEscape();
        return false;
      case Esc.StrEsc:
        if (c === 0x5c /* \ */) {
          this.esc = Esc.None;
          return false;
        }
        // Any other ESC sequence also ends the string; read c as its second byte.
        this.esc = Esc.Esc;
        this.escLength = 0;
        return true;
      case Esc.None:
        return true;
    }
  }

  private abortEscape(): boolean {
    this.esc = Esc.None;
    return true;
  }

  private appendText(text: string): void {
    if (this.partialT === null) this.partialT = this.chunkT;
    while (this.partial.length + text.length > this.maxLineLength) {
      const take = this.maxLineLength - this.partial.length;
      this.partial += text.slice(0, take);
      text = text.slice(take);
      this.completeLine();
      this.partialT = this.chunkT;
    }
    this.partial += text;
    this.partialDirty = true;
  }

  private completeLine(): void {
    const line: StoredLine = {
      index: this.nextIndex++,
      t: this.partialT ?? this.chunkT,
      text: this.partial,
      start: this.partialStart,
    };
    this.partialStart += line.text.length + 1;
    this.partial = '';
    this.partialT = null;
    this.partialDirty = false;

    if (this.ring.length < this.maxLines) {
      this.ring.push(line);
    } else {
      this.ring[this.head] = line;
      this.head = (this.head + 1) % this.maxLines;
    }
    if (this.file && !this.fileClosed) this.fileBuffer += `${formatLine(line)}\n`;
    this.debug('%s', line.text);
    for (const w of this.waiters) this.test(w, line);
  }

  private flushFile(): void {
    if (this.fileBuffer && this.file && !this.fileClosed) this.file.write(this.fileBuffer);
    this.fileBuffer = '';
  }

  // --- storage ---

  private at(i: number): StoredLine {
    return this.ring[(this.head + i) % this.ring.length];
  }

  /** Ring offset of the first retained line that ends at or after `pos`. */
  private firstLineAtOrAfter(pos: number): number {
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const line = this.at(mid);
      if (line.start + line.text.length < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private partialLine(): StoredLine {
    return {
      index: this.nextIndex,
      t: this.partialT ?? this.chunkT,
      text: this.partial,
      start: this.partialStart,
    };
  }

  private now(): number {
    return performance.now() - this.startedAt;
  }
}

function compile(pattern: RegExp | string): RegExp {
  if (typeof pattern === 'string') return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
  // 'g' so lastIndex can start the search at the cursor; 'y' would pin it there.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + 'g');
}

function publicLine(line: StoredLine): ConsoleLine {
  return { index: line.index, t: line.t, text: line.text };
}

function formatLine(line: ConsoleLine): string {
  return `[${(line.t / 1000).toFixed(3).padStart(8)}] ${line.text}`;
}

/** Resolves when `p` settles or after `ms`, whichever is first. */
function race(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}

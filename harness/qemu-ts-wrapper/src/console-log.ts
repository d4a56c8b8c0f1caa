import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ConsoleFile } from './console-file';
import { ConsoleWaits, type ConsoleMatch, type FailPattern, type WaitOptions } from './console-waits';
import type { Deadline } from './deadline';
import { TAIL_LINES } from './errors';
import { EscapeStripper } from './escape-stripper';
import { formatLine, LineRing, publicLine, type ConsoleLine, type StoredLine } from './line-ring';
import { log, type Logger } from './log';

export type { ConsoleLine } from './line-ring';
export type { ConsoleMatch, FailPattern, WaitOptions } from './console-waits';

export interface ConsoleLogOptions {
  /** The VM name; used in errors and the `<prefix>:console:<name>` debug namespace. */
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

const NEVER: Promise<never> = new Promise<never>(() => undefined);

/**
 * Records a serial console and matches it: the stream is decoded, stripped of escapes
 * (EscapeStripper), cut into lines kept in a ring (LineRing), written to a log file
 * (ConsoleFile) and waited on (ConsoleWaits). Matching is line by line on text with
 * ANSI escapes, \r, backspaces and NULs removed, and also against the unterminated last
 * line, because prompts ("debian login: ") end without a newline.
 *
 * Waits consume the console: each starts at the cursor, the end of the previous
 * successful match, so output from before a reboot cannot satisfy a wait after it.
 * Positions (`cursor()`, `position()`) count stripped characters since the start and
 * only ever grow.
 */
export class ConsoleLog implements AsyncDisposable {
  readonly name: string;
  /**
   * Rejects with a ConsoleLogError when the log file cannot be written (a full disk): a
   * boot whose console is not on record must stop rather than run on unseen.
   */
  readonly logFailed: Promise<never>;

  private readonly startedAt: number;
  private readonly maxLineLength: number;
  private readonly debug: Logger;
  private readonly decoder = new StringDecoder('utf8');
  private readonly stripper: EscapeStripper;
  private readonly ring: LineRing;
  private readonly file?: ConsoleFile;
  private readonly waits: ConsoleWaits;
  private nextIndex = 0;

  private partial = '';
  private partialT: number | null = null;
  private partialDirty = false;
  private partialStart = 0;
  private chunkT = 0;

  private attached = false;
  private ended = false;
  private readonly endedPromise: Promise<void>;
  private markEnded!: () => void;

  constructor(opts: ConsoleLogOptions) {
    this.name = opts.name;
    this.startedAt = opts.startedAt ?? performance.now();
    const maxLines = opts.maxLines ?? 20_000;
    this.maxLineLength = opts.maxLineLength ?? 4096;
    if (maxLines < 1 || this.maxLineLength < 1) throw new RangeError('maxLines and maxLineLength must be >= 1');
    this.ring = new LineRing(maxLines);
    this.debug = log(`console:${opts.name}`);
    this.stripper = new EscapeStripper({ text: (s) => this.appendText(s), newline: () => this.completeLine() });
    this.endedPromise = new Promise((resolve) => (this.markEnded = resolve));
    this.waits = new ConsoleWaits(
      { name: this.name, tail: (n) => this.tail(n), streaming: () => this.attached && !this.ended, ended: this.endedPromise },
      opts.failOn ?? [],
    );
    if (opts.logFile) this.file = new ConsoleFile(this.name, opts.logFile, this.debug);
    this.logFailed = this.file?.failed ?? NEVER;
  }

  /** Set when the log file stopped short: what it holds, and why. */
  get logIncomplete(): string | undefined {
    return this.file?.incomplete;
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
    this.stripper.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    if (this.partialDirty && this.partial) {
      this.partialDirty = false;
      this.waits.testAll(this.partialLine(), this.chunkT, true);
    }
    this.file?.flush();
  }

  /** End of input: the unterminated last line becomes a line, pending waits fail 'closed'. */
  end(): void {
    if (this.ended) return;
    this.chunkT = this.now();
    this.stripper.feed(this.decoder.end());
    this.stripper.reset();
    if (this.partial) this.completeLine();
    this.file?.flush();
    this.ended = true;
    this.markEnded();
    this.waits.endAll();
  }

  /**
   * Resolves once every complete line received so far is in the log file, for a reader
   * of the file (the run report) while the guest still runs. Bounded by `deadline`; a log
   * that failed resolves at once (logFailed says why).
   */
  async synced(deadline: Deadline): Promise<void> {
    await this.file?.synced(deadline);
  }

  /** Flushes and closes the log file; the unterminated last line is written too. */
  async close(): Promise<void> {
    await this.file?.close(this.partial ? formatLine(this.partialLine()) : undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Where the next wait starts: just after the last successful match. */
  cursor(): number {
    return this.waits.cursor;
  }

  /** The end of everything received so far. */
  position(): number {
    return this.partialStart + this.partial.length;
  }

  /** Moves the cursor past everything received, e.g. before triggering a reboot. */
  skipToEnd(): number {
    this.waits.cursor = Math.max(this.waits.cursor, this.position());
    return this.waits.cursor;
  }

  /** The retained lines, plus the unterminated last line if it is not empty. */
  lines(): ConsoleLine[] {
    const out: ConsoleLine[] = [];
    for (let i = 0; i < this.ring.length; i++) out.push(publicLine(this.ring.at(i)));
    if (this.partial) out.push(publicLine(this.partialLine()));
    return out;
  }

  /**
   * Line `index` as it stands now: whole once its newline came, else the part received so
   * far (a wait resolves at its match, maybe mid-line); undefined once it left the ring.
   */
  line(index: number): ConsoleLine | undefined {
    if (index === this.nextIndex) return this.partial ? publicLine(this.partialLine()) : undefined;
    const l = this.ring.byIndex(index);
    return l ? publicLine(l) : undefined;
  }

  /** The last `n` lines as "[  12.345] text", the unterminated last line included. */
  tail(n = TAIL_LINES): string[] {
    const out: string[] = [];
    const fromRing = Math.min(this.ring.length, this.partial ? n - 1 : n);
    for (let i = this.ring.length - fromRing; i < this.ring.length; i++) out.push(formatLine(this.ring.at(i)));
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
    const w = this.waits.add(pattern, opts);
    for (let i = this.ring.firstAtOrAfter(this.waits.from(w)); i < this.ring.length && this.waits.isPending(w); i++) {
      const line = this.ring.at(i);
      this.waits.test(w, line, line.t);
    }
    if (this.waits.isPending(w) && this.partial) this.waits.test(w, this.partialLine(), this.chunkT, true);
    if (!this.waits.isPending(w)) return w.promise;
    return this.waits.arm(w, opts, this.ended);
  }

  // --- input ---

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
    this.ring.push(line);
    this.file?.append(formatLine(line));
    this.debug('%s', line.text);
    this.waits.testAll(line, this.chunkT);
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

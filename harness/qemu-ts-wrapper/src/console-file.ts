import { createWriteStream, type WriteStream } from 'node:fs';
import type { Deadline } from './deadline';
import { ConsoleLogError } from './errors';
import type { Logger } from './log';

/**
 * A console's log file: lines are buffered per chunk and appended. A write that fails
 * (a full disk) closes it and rejects `failed`, with what the file holds.
 */
export class ConsoleFile {
  /**
   * Rejects with a ConsoleLogError when the file cannot be written: a boot whose console
   * is not on record must stop rather than run on unseen.
   */
  readonly failed: Promise<never>;
  /** Set when the file stopped short: what it holds, and why. */
  incomplete?: string;
  private readonly stream: WriteStream;
  private buffer = '';
  private closed = false;

  constructor(name: string, path: string, debug: Logger) {
    let fail!: (e: ConsoleLogError) => void;
    this.failed = new Promise<never>((_, reject) => (fail = reject));
    this.failed.catch(() => undefined);
    const stream = (this.stream = createWriteStream(path, { flags: 'a' }));
    stream.on('error', (err: NodeJS.ErrnoException) => {
      debug('console log %s failed: %s', path, err.message);
      this.closed = true;
      this.incomplete = `the console log ${path} could not be written whole: it stops after ${stream.bytesWritten} bytes (${err.code ?? err.message})`;
      fail(new ConsoleLogError(`${name}: ${this.incomplete}`, { path, cause: err, ...(err.code === undefined ? {} : { code: err.code }) }));
    });
  }

  /** Adds a line to what the next flush() writes. */
  append(line: string): void {
    if (!this.closed) this.buffer += `${line}\n`;
  }

  flush(): void {
    if (this.buffer && !this.closed) this.stream.write(this.buffer);
    this.buffer = '';
  }

  /** Resolves once everything flushed is in the file, bounded by `deadline`; at once for a failed file. */
  async synced(deadline: Deadline): Promise<void> {
    this.flush();
    if (this.closed || this.stream.writableLength === 0) return;
    await deadline.race(new Promise<void>((resolve) => this.stream.write('', () => resolve())));
  }

  /** Writes `last` (an unterminated last line) if given, flushes and closes. */
  async close(last?: string): Promise<void> {
    if (this.closed) return;
    if (last !== undefined) this.append(last);
    this.flush();
    this.closed = true;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

/** One console line: `t` is ms since the console's start, `text` has escapes and \r stripped. */
export interface ConsoleLine {
  index: number;
  t: number;
  text: string;
}

/** A line as kept: `start` is the position of its first character; it occupies text.length + 1 positions. */
export interface StoredLine extends ConsoleLine {
  start: number;
}

/** The last `max` lines of a console, oldest first; older ones fall out. */
export class LineRing {
  private readonly lines: StoredLine[] = [];
  private head = 0;

  constructor(private readonly max: number) {
    if (max < 1) throw new RangeError('a ring holds at least one line');
  }

  get length(): number {
    return this.lines.length;
  }

  push(line: StoredLine): void {
    if (this.lines.length < this.max) {
      this.lines.push(line);
    } else {
      this.lines[this.head] = line;
      this.head = (this.head + 1) % this.max;
    }
  }

  /** The i-th line kept, 0 the oldest. */
  at(i: number): StoredLine {
    return this.lines[(this.head + i) % this.lines.length] as StoredLine;
  }

  /** The line numbered `index`, if it is still kept. */
  byIndex(index: number): StoredLine | undefined {
    if (this.lines.length === 0) return undefined;
    const l = this.at(index - this.at(0).index);
    return l?.index === index ? l : undefined;
  }

  /** Offset of the first line kept that ends at or after position `pos`. */
  firstAtOrAfter(pos: number): number {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const line = this.at(mid);
      if (line.start + line.text.length < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function publicLine(line: StoredLine): ConsoleLine {
  return { index: line.index, t: line.t, text: line.text };
}

/** "[  12.345] text": a line as the log file and error tails show it. */
export function formatLine(line: ConsoleLine): string {
  return `[${(line.t / 1000).toFixed(3).padStart(8)}] ${line.text}`;
}

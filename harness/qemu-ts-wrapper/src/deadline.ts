import { performance } from 'node:perf_hooks';
import { DeadlineError } from './errors';

// setTimeout takes a signed 32-bit delay and fires at once for anything longer.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A point in time a step must finish by. One per step; nested waits take a child so
 * they can never outlive the step that started them (cf. the NixOS test driver's single
 * global timer). Uses the monotonic clock, so wall-clock jumps do not matter.
 */
export class Deadline {
  readonly what: string;
  readonly totalMs: number;
  /** The enclosing step whose remaining time capped this one, if it did. */
  readonly cappedBy?: string;
  private readonly start = performance.now();

  private constructor(totalMs: number, what: string, cappedBy?: string) {
    if (Number.isNaN(totalMs) || totalMs < 0) {
      throw new RangeError(`deadline for ${what}: invalid duration ${totalMs}`);
    }
    this.totalMs = totalMs;
    this.what = what;
    if (cappedBy !== undefined) this.cappedBy = cappedBy;
  }

  /** `ms` may be Infinity for a step without a time limit. */
  static after(ms: number, what: string): Deadline {
    return new Deadline(ms, what);
  }

  elapsed(): number {
    return performance.now() - this.start;
  }

  remaining(): number {
    return Math.max(0, this.totalMs - this.elapsed());
  }

  expired(): boolean {
    return this.remaining() <= 0;
  }

  /** A nested deadline of `ms` (may be Infinity), cut short by what is left of this one. */
  child(ms: number, what: string): Deadline {
    const left = this.remaining();
    return ms <= left ? new Deadline(ms, what) : new Deadline(left, what, this.what);
  }

  /** The error `race` rejects with by default. */
  error(): DeadlineError {
    const what = this.cappedBy === undefined ? this.what : `${this.what} (cut short by '${this.cappedBy}')`;
    return new DeadlineError(what, this.totalMs, this.elapsed());
  }

  /** Throws `onTimeout()` (default: DeadlineError) if the deadline has passed. */
  check(onTimeout?: () => Error): void {
    if (this.expired()) throw onTimeout ? onTimeout() : this.error();
  }

  /** Sleeps `ms`, or until the deadline if that comes first. Never rejects. */
  sleep(ms: number): Promise<void> {
    const until = performance.now() + Math.min(ms, this.remaining());
    return new Promise((resolve) => {
      if (until === Infinity) return; // sleeping forever is what was asked for
      // Timers may fire a fraction of a millisecond early; after sleeping to the
      // deadline, expired() must be true.
      const arm = (): void => {
        const left = until - performance.now();
        if (left <= 0) resolve();
        else setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
      };
      arm();
    });
  }

  /**
   * Settles like `p`, unless the deadline passes first: then rejects with `onTimeout()`
   * (default: DeadlineError). `p` keeps running; a late rejection of it is swallowed.
   * An already-settled `p` wins over an already-expired deadline.
   */
  race<T>(p: Promise<T>, onTimeout?: () => Error): Promise<T> {
    if (this.remaining() === Infinity) return p;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const arm = (): void => {
        timer = setTimeout(() => {
          if (!this.expired()) return arm();
          reject(onTimeout ? onTimeout() : this.error());
        }, Math.min(this.remaining(), MAX_TIMER_MS));
      };
      arm();
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}

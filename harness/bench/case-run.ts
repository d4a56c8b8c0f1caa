import { exitCodeOf } from '../common/errors';
import type { HostSpeed } from '../common/speed';
import { qemuProcessCount } from './host-load';
import { MetricRecorder } from './stats';
import type { CaseResult, DetailTable, MetricSpec, RunFailure } from './types';

/** What every case gets from the bench. */
export interface BenchContext {
  runId: string;
  /** reports/bench-<runid>/ */
  dir: string;
  runs: number;
  speed: HostSpeed;
  /** A registered run's state folder, for QEMU the bench starts itself (bare boots). */
  stateDir: string;
  progress: (line: string) => void;
}

/** One case of the bench: what it measures and how. */
export interface BenchCase {
  name: string;
  title: string;
  metrics: MetricSpec[];
  /** Runs when --runs is not given (the bench's default otherwise). */
  defaultRuns?: number;
  run(c: CaseRun): Promise<void>;
}

/**
 * A case being measured: its metric values, notes, tables, raw details and the runs
 * that failed. A failed run is recorded and the case goes on with the next.
 */
export class CaseRun {
  readonly metrics = new MetricRecorder();
  readonly notes: string[] = [];
  readonly tables: DetailTable[] = [];
  readonly failures: RunFailure[] = [];
  readonly details: unknown[] = [];
  /** Other runs' QEMU seen just before each measurement: they share the 2 cores. */
  private readonly contention: number[] = [];
  private readonly t0 = performance.now();

  constructor(
    readonly ctx: BenchContext,
    readonly spec: BenchCase,
  ) {}

  get runs(): number {
    return this.ctx.runs;
  }

  progress(line: string): void {
    this.ctx.progress(`bench: ${this.spec.name}: ${line}`);
  }

  /** Call just before starting a measurement while none of the bench's own QEMU runs. */
  sampleContention(): void {
    this.contention.push(qemuProcessCount());
  }

  /** Runs one measurement; a failure is recorded (and said) and gives undefined. */
  async attempt<T>(run: number, step: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      const f = failureOf(run, step, e);
      this.failures.push(f);
      this.progress(`run ${run}: ${step}: FAILED: ${f.message}`);
      return undefined;
    }
  }

  result(): CaseResult {
    const busy = this.contention.filter((n) => n > 0).length;
    const notes = [...this.notes];
    if (busy > 0) {
      notes.push(`other runs' QEMU were running at the start of ${busy} of ${this.contention.length} measurement(s) (up to ${Math.max(...this.contention)}): their CPU use skews these times`);
    }
    return {
      name: this.spec.name,
      title: this.spec.title,
      runs: this.ctx.runs,
      metrics: this.metrics.summarize(this.spec.metrics),
      tables: this.tables,
      notes,
      failures: this.failures,
      details: this.details,
      seconds: (performance.now() - this.t0) / 1000,
    };
  }
}

/** A run's failure as bench.json keeps it: the error's class, exit code and first lines. */
export function failureOf(run: number, step: string, e: unknown): RunFailure {
  const message = e instanceof Error ? e.message : String(e);
  return {
    run,
    step,
    kind: e instanceof Error ? e.name : typeof e,
    exitCode: exitCodeOf(e),
    message: message.split('\n')[0] ?? '',
    detail: message,
  };
}

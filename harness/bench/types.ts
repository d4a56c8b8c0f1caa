/** The data of a bench run; bench.json holds exactly a BenchReport. */

/** s: seconds; x: a ratio; MiB: memory (binary); MB: QEMU's -m. */
export type Unit = 's' | 'x' | 'MiB' | 'MB';

/** An issue target: the median must be at most `max`. */
export interface Target {
  max: number;
  /** Where the number comes from, e.g. "issue 5" or "real LTSP thin clients had 256 MB". */
  source: string;
}

export interface MetricSpec {
  id: string;
  label: string;
  unit: Unit;
  target?: Target;
}

export interface MetricSummary extends MetricSpec {
  /** One per run that measured it, in run order. */
  values: number[];
  /** Absent when no run measured it. */
  min?: number;
  median?: number;
  max?: number;
  /** Absent without a target or without values. */
  met?: boolean;
}

/** A table a case adds beside its metrics, e.g. the chain's breakdown. */
export interface DetailTable {
  title: string;
  header: string[];
  rows: string[][];
}

export interface RunFailure {
  /** 1-based run number. */
  run: number;
  /** What was being measured, e.g. "lab, union". */
  step: string;
  kind: string;
  exitCode: number;
  /** The error's first line. */
  message: string;
  /** The whole error: a boot failure carries the last console lines. */
  detail?: string;
}

export interface CaseResult {
  name: string;
  title: string;
  runs: number;
  metrics: MetricSummary[];
  tables: DetailTable[];
  notes: string[];
  failures: RunFailure[];
  /** Raw data per run (timelines, build steps, ...), for whoever digs deeper. */
  details: unknown[];
  /** Wall time of the whole case, seconds. */
  seconds: number;
}

export interface BenchHost {
  cores: number;
  accel: string;
  /** Why that accelerator (the probe's verdict). */
  accelReason?: string;
  speedFactor: number;
  loadAvg1: number;
  /** QEMU processes of other runs on this host when the bench started: they skew times. */
  otherQemu: number;
}

export interface BenchReport {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  host: BenchHost;
  runs: number;
  cases: CaseResult[];
  /** Where bench.json is. */
  file: string;
}

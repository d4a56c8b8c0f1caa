import type { ClientSpec } from '../client/client-spec';

/**
 * The data a run report is made of. A client's boot as the harness sees it is a
 * ClientTimeline; what a run leaves on disk is results.json, exactly a RunResults,
 * whose shape harness/results/results.schema.json fixes (and the writer checks).
 */

export interface StageMark {
  /** Stable id, e.g. 'dhcp', 'kernel', 'nbd-root', 'login'. */
  stage: string;
  /** What a human reads, e.g. 'DHCP lease'. */
  label: string;
  /** Milliseconds from QEMU start. */
  t: number;
  /** The console line that marked it. */
  line: string;
  /** The stage's budget on this run (scaled to the host), ms since the previous mark. */
  budgetMs?: number;
}

/**
 * A point inside a stage (boot/stages.ts bootPoints): where the stage's time went. Not a
 * stage: the gate and the stage sequence never see it, and a kind that does not print
 * it has none.
 */
export interface PointMark {
  /** Stable id, e.g. 'link-up', 'basic-target'. */
  point: string;
  label: string;
  /** The stage it is inside. */
  stage: string;
  /** Milliseconds from QEMU start. */
  t: number;
  /** The console line that marked it. */
  line: string;
}

/**
 * A lab fault as one client lived it (harness/fault): when it struck and ended, ms since
 * the client's QEMU start, and whether the client came back.
 */
export interface FaultMark {
  /** As written: 'nbd-restart@login'. */
  fault: string;
  outcome: 'recovered' | 'survived' | 'failed' | 'not-reached';
  appliedAt?: number;
  endedAt?: number;
  recoveryMs?: number;
  detail: string;
  evidence?: string[];
}

export interface ClientTimeline {
  client: string;
  mac: string;
  /** What it booted (client/client-spec.ts). */
  boots?: ClientSpec;
  /** The version of the kernel served to it (the image manifest's). */
  kernelVersion?: string;
  ok: boolean;
  /** Set when a boot failed. */
  failedStage?: string;
  error?: string;
  /** The console's last lines when the boot failed (the log file goes on until QEMU stops). */
  failureTail?: string[];
  /** In boot order. */
  stages: StageMark[];
  /** Points inside the stages, in console order. */
  points?: PointMark[];
  /** Paths relative to the report folder. */
  consoleLog?: string;
  qmpLog?: string;
  leaseIp?: string;
  memoryMb?: number;
  faults?: FaultMark[];
}

/** results.json's version: bump it with every change to results.schema.json that is not an optional addition. */
export const RESULTS_SCHEMA_VERSION = 1;

export type RunKind = 'boot' | 'test' | 'bench';
export type RunOutcome = 'pass' | 'fail' | 'interrupted';
export type TestOutcome = 'pass' | 'fail' | 'skipped' | 'interrupted';

/** What the segment that ends at a stage is mostly spent in (results/stage-kinds.ts). */
export type StageKind = 'firmware' | 'network' | 'kernel' | 'initramfs' | 'nbd' | 'userspace' | 'other';

export interface HostFacts {
  cores: number;
  accel: string;
  /** Why this accelerator (the probe's verdict, an override, a missing device). */
  accelReason: string;
  speedFactor: number;
  calibrationMs: number;
  /** 1-minute load average when the run started, and when it ended. */
  loadAvg1: number;
  loadAvg1End?: number;
}

export interface ImageFacts {
  keys: Record<string, string>;
  rootSha256: string;
  rootImageTag?: string;
  kernelVersion?: string;
}

export interface StageResult {
  stage: string;
  label: string;
  kind: StageKind;
  /** Milliseconds from QEMU start. */
  t: number;
  /** Milliseconds since the previous mark (since QEMU start for the first). */
  durationMs: number;
  budgetMs?: number;
  /** The console line that marked it. */
  line: string;
}

export interface ClientResult {
  client: string;
  mac?: string;
  /** What it booted (client/client-spec.ts): its kind, ltsp or stock. */
  boots?: ClientSpec;
  /** The version of the kernel served to it. */
  kernelVersion?: string;
  ok: boolean;
  /** The kernel's own "Command line:" from the console (absent when no kernel ran). */
  kernelCmdline?: string;
  memoryMb?: number;
  leaseIp?: string;
  stages: StageResult[];
  /** Points inside the stages (where a stage's time went), in console order. */
  points?: PointMark[];
  failedStage?: string;
  error?: string;
  /** Last console lines, when the client failed. */
  consoleTail?: string[];
  /** Paths relative to the run folder. */
  consoleLog?: string;
  qmpLog?: string;
  /** The lab faults this client was put under. */
  faults?: FaultMark[];
}

export interface ErrorFacts {
  /** The error's class, e.g. 'BootStageError'. */
  class: string;
  kind: 'usage' | 'setup' | 'sut' | 'harness' | 'regression' | 'unknown';
  exitCode: number;
  /** Its first line. */
  message: string;
  stage?: string;
  consoleTail?: string[];
}

/** The regression gate's verdict (harness/gate fills it). */
export interface GateVerdict {
  verdict: 'pass' | 'regression' | 'inconclusive';
  profile: string;
  reason: string;
  stages: { stage: string; baselineMs: number; measuredMs: number; deltaMs: number; regressed: boolean }[];
}

/** The baseline a run is drawn against (fixtures/baselines/<profile>.json, as read). */
export interface BaselineFacts {
  profile: string;
  /** The client kind its boots were of (drawn only under clients of that kind). */
  client?: ClientSpec;
  /** Relative to the repo. */
  file: string;
  runs?: number;
  createdAt?: string;
  speedFactor?: number;
  /** Median duration of each stage (since the previous one), ms. */
  stages: { stage: string; medianMs: number }[];
  totalMs?: number;
}

export interface TestResult {
  /** Unique in the run: the test's folder relative to the run folder ('.' for the run itself). */
  id: string;
  title: string;
  outcome: TestOutcome;
  durationMs: number;
  error?: ErrorFacts;
  clients: ClientResult[];
  /** Relative to the run folder. */
  serverLog?: string;
  gate?: GateVerdict;
  /** What else the test measured (a bench case's numbers, an image build's steps). */
  data?: Record<string, unknown>;
  /** A test run's: the spec file it is in, repo-relative. */
  file?: string;
  /** A merged report's: the shard it ran in. */
  shard?: ShardRef;
}

/** Shard `index` (from 1) of `count`, as `./lab test --shard I/N` says it. */
export interface ShardRef {
  index: number;
  count: number;
}

/** What `./lab test` was asked to run. */
export interface TestSelection {
  grep?: string;
  shard?: ShardRef;
  /** --tier (harness/shard/tiers.ts); absent in runs from before tiers. */
  tier?: 'smoke' | 'full';
  /** The e2e files it loaded (a shard's own; every one unsharded). */
  files: string[];
  /** The static checks and unit tests before the e2e files, ms; absent when it skipped them. */
  checksMs?: number;
}

/** An e2e file's wall time in a test run, its suites' hooks included. */
export interface SuiteFileTime {
  file: string;
  durationMs: number;
}

export interface RunResults {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  runId: string;
  kind: RunKind;
  title: string;
  /** ISO 8601. */
  startedAt: string;
  finishedAt?: string;
  outcome: RunOutcome;
  exitCode?: number;
  host: HostFacts;
  images?: ImageFacts;
  baseline?: BaselineFacts;
  gate?: GateVerdict;
  notes?: string[];
  /** The commit the run's tree was at, `-dirty` when it had uncommitted changes. */
  commit?: string;
  /** A test run's: its --grep and --shard, and the files they gave. */
  selection?: TestSelection;
  /** A test run's: each e2e file's wall time (what shards are balanced by, fixtures/test-durations.json). */
  suiteFiles?: SuiteFileTime[];
  tests: TestResult[];
}

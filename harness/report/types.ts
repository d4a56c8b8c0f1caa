/** The data a run report is made of; run.json holds exactly a RunReport. */

export interface StageMark {
  /** Stable id, e.g. 'dhcp', 'kernel', 'nbd-root', 'login'. */
  stage: string;
  /** What a human reads, e.g. 'DHCP lease'. */
  label: string;
  /** Milliseconds from QEMU start. */
  t: number;
  /** The console line that marked it. */
  line: string;
}

export interface ClientTimeline {
  client: string;
  mac: string;
  ok: boolean;
  /** Set when a boot failed. */
  failedStage?: string;
  error?: string;
  /** In boot order. */
  stages: StageMark[];
  /** Paths relative to the report folder. */
  consoleLog?: string;
  qmpLog?: string;
  leaseIp?: string;
  memoryMb?: number;
}

export interface RunReport {
  runId: string;
  title: string;
  /** ISO 8601. */
  startedAt: string;
  finishedAt?: string;
  clients: ClientTimeline[];
  /** Path relative to the report folder. */
  serverLog?: string;
  notes?: string[];
}

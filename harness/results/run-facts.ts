import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { errorKind, TAIL_LINES, exitCodeOf } from '../common/errors';
import type { HostSpeed } from '../common/speed';
import { stageKind } from './stage-kinds';
import type { ClientResult, ClientTimeline, ErrorFacts, HostFacts, ImageFacts, StageMark, StageResult } from './types';

/** A line of a console log file as ConsoleLog writes it: "[  12.345] text". */
export interface ConsoleFileLine {
  /** Milliseconds from QEMU start. */
  t: number;
  text: string;
}

const LINE = /^\[\s*(\d+(?:\.\d+)?)\] ?(.*)$/;

/** Parses a console log file's text; a line without a stamp takes the previous line's time. */
export function parseConsoleLog(text: string): ConsoleFileLine[] {
  const out: ConsoleFileLine[] = [];
  let t = 0;
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const m = LINE.exec(raw);
    if (m) t = Math.round(Number(m[1]) * 1000);
    out.push({ t, text: m ? (m[2] as string) : raw });
  }
  return out;
}

/** The console log file at `path`, parsed; no file, no lines. */
export function readConsoleLog(path: string): ConsoleFileLine[] {
  return existsSync(path) ? parseConsoleLog(readFileSync(path, 'utf8')) : [];
}

/** The command line the kernel says it got (its "Command line:" line), if it ran. */
export function kernelCmdline(lines: readonly ConsoleFileLine[]): string | undefined {
  for (const l of lines) {
    const m = /(?:^|\]\s*)(?:Kernel )?[Cc]ommand line: (.*)$/.exec(l.text);
    if (m) return (m[1] as string).trim();
  }
  return undefined;
}

/** Marks with their kinds and the time each took since the previous one. */
export function stageResults(marks: readonly StageMark[]): StageResult[] {
  let prev = 0;
  return marks.map((m) => {
    const r: StageResult = { stage: m.stage, label: m.label, kind: stageKind(m.stage), t: m.t, durationMs: m.t - prev, line: m.line };
    if (m.budgetMs !== undefined) r.budgetMs = Math.round(m.budgetMs);
    prev = m.t;
    return r;
  });
}

/**
 * A client's result from its timeline, reading its console log under `runDir` (the
 * timeline's paths are relative to it) for the kernel command line and, on failure,
 * the console tail. `prefix` re-roots the log paths (a test's own copy of them).
 */
export function clientResult(tl: ClientTimeline, runDir: string, prefix = ''): ClientResult {
  const consoleLog = tl.consoleLog === undefined ? undefined : join(prefix, tl.consoleLog);
  const lines = consoleLog === undefined ? [] : readConsoleLog(join(runDir, consoleLog));
  const r: ClientResult = { client: tl.client, mac: tl.mac, ...(tl.boots ? { boots: tl.boots } : {}), ...(tl.kernelVersion ? { kernelVersion: tl.kernelVersion } : {}), ok: tl.ok, stages: stageResults(tl.stages) };
  if (tl.points?.length) r.points = tl.points.map((p) => ({ ...p }));
  const cmdline = kernelCmdline(lines);
  if (cmdline !== undefined) r.kernelCmdline = cmdline;
  if (tl.memoryMb !== undefined) r.memoryMb = tl.memoryMb;
  if (tl.leaseIp !== undefined) r.leaseIp = tl.leaseIp;
  if (!tl.ok) {
    r.failedStage = tl.failedStage ?? nextStageAfter(tl);
    if (tl.error !== undefined) r.error = tl.error;
    r.consoleTail = tl.failureTail ?? lines.slice(-TAIL_LINES).map((l) => l.text);
  }
  if (consoleLog !== undefined) r.consoleLog = consoleLog;
  if (tl.qmpLog !== undefined) r.qmpLog = join(prefix, tl.qmpLog);
  if (tl.faults?.length) r.faults = tl.faults;
  return r;
}

/** A client stopped before it failed or finished: the stage it was in is unknown. */
function nextStageAfter(tl: ClientTimeline): string {
  return tl.stages.length === 0 ? 'unknown' : `after ${tl.stages[tl.stages.length - 1]?.stage}`;
}

/** What results.json keeps of an error: its class, kind, exit code, first line, stage and console tail. */
export function errorFacts(e: unknown): ErrorFacts {
  const err = e instanceof Error ? e : new Error(String(e));
  const kind = errorKind(e) ?? ((err as { kind?: unknown }).kind === 'regression' ? 'regression' : 'unknown');
  const facts: ErrorFacts = {
    class: err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : err.name,
    kind,
    exitCode: exitCodeOf(e),
    message: (err.message.split('\n', 1)[0] ?? '').trim(),
  };
  const extra = err as { stage?: unknown; consoleTail?: unknown; exitCode?: unknown };
  if (kind === 'regression' && typeof extra.exitCode === 'number') facts.exitCode = extra.exitCode;
  if (typeof extra.stage === 'string') facts.stage = extra.stage;
  if (Array.isArray(extra.consoleTail)) facts.consoleTail = extra.consoleTail.map(String).slice(-TAIL_LINES);
  return facts;
}

/** The host facts of a run from its measured speed. */
export function hostFacts(speed: HostSpeed): HostFacts {
  return {
    cores: speed.cores,
    accel: speed.accel,
    accelReason: speed.accelReason,
    speedFactor: speed.factor,
    calibrationMs: speed.calibrationMs,
    loadAvg1: round2(loadavg()[0] ?? 0),
  };
}

/** The image facts of a run from vm-images/build.sh's manifest. */
export function imageFacts(manifest: { keys: Record<string, string>; rootSha256: string; rootImageTag?: string; kernelVersion?: string }): ImageFacts {
  const f: ImageFacts = { keys: { ...manifest.keys }, rootSha256: manifest.rootSha256 };
  if (manifest.rootImageTag) f.rootImageTag = manifest.rootImageTag;
  if (manifest.kernelVersion) f.kernelVersion = manifest.kernelVersion;
  return f;
}

/** The load average now, for a run's end. */
export function loadNow(): number {
  return round2(loadavg()[0] ?? 0);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

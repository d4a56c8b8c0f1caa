/**
 * The error taxonomy. The kind decides the exit code, so CI can tell "the stack under
 * test is broken" (sut) from "the lab itself is broken" (setup, harness).
 */

export type ErrorKind = 'usage' | 'setup' | 'sut' | 'harness' | 'regression';

export interface LabErrorOptions {
  /** What the operator can do about it, printed after the message. */
  hint?: string;
  cause?: unknown;
}

/** 6: the stack works but boots slower than its baseline (harness/gate), so CI can tell "slower" from "broken". */
const EXIT_CODES: Readonly<Record<ErrorKind, number>> = { usage: 2, setup: 3, sut: 4, harness: 5, regression: 6 };

/** How many console lines a timeout or boot failure carries. */
export const TAIL_LINES = 40;

export abstract class LabError extends Error {
  abstract readonly kind: ErrorKind;
  readonly hint?: string;

  constructor(message: string, opts: LabErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** A bad option or input. */
export class UsageError extends LabError {
  readonly kind = 'usage';
}

/** The host cannot run the lab: no docker, no qemu, no permission, no disk, no /dev/net/tun. */
export class SetupError extends LabError {
  readonly kind = 'setup';
}

/** The system under test failed. */
export class SutError extends LabError {
  readonly kind = 'sut';
}

/** The harness itself broke. */
export class HarnessError extends LabError {
  readonly kind = 'harness';
}

export interface BootStageErrorOptions extends LabErrorOptions {
  stage: string;
  elapsedMs: number;
  consoleTail: string[];
  /** Why the stage failed, e.g. the message of the console wait that gave up. */
  detail?: string;
}

/** A client did not get through a boot stage (PXE, kernel, initramfs, NBD root, login). */
export class BootStageError extends SutError {
  readonly stage: string;
  readonly elapsedMs: number;
  readonly consoleTail: string[];

  constructor(opts: BootStageErrorOptions) {
    const detail = opts.detail ? `: ${opts.detail}` : '';
    super(
      `boot stage '${opts.stage}' failed after ${seconds(opts.elapsedMs)}${detail}\n${formatTail(opts.consoleTail)}`,
      opts,
    );
    this.stage = opts.stage;
    this.elapsedMs = opts.elapsedMs;
    this.consoleTail = opts.consoleTail;
  }
}

export type ConsoleWaitReason = 'timeout' | 'failure-pattern' | 'exited' | 'closed';

export interface ConsoleWaitErrorOptions extends LabErrorOptions {
  /** The console's name, e.g. the VM name. */
  console: string;
  /** Printable form of what was waited for, e.g. `/login: $/`. */
  pattern: string;
  reason: ConsoleWaitReason;
  elapsedMs: number;
  consoleTail: string[];
  /** The step the wait belonged to, e.g. "client c1 boot to login". */
  what?: string;
  /** Name of the failure pattern that ended the wait. */
  matchedFailure?: string;
  /** The console line the failure pattern matched. */
  failureLine?: string;
}

/**
 * A console wait ended without its pattern: timeout, failure pattern, process exit or EOF.
 * A HarnessError by itself: a wait can be wrong (a pattern the harness got wrong, a budget
 * too short). Callers that know the stack is at fault wrap it: followStages into a
 * BootStageError, a client command into a ClientCommandError.
 */
export class ConsoleWaitError extends HarnessError {
  readonly console: string;
  readonly pattern: string;
  readonly reason: ConsoleWaitReason;
  readonly elapsedMs: number;
  readonly consoleTail: string[];
  readonly what?: string;
  readonly matchedFailure?: string;

  constructor(opts: ConsoleWaitErrorOptions) {
    const waited = `waiting for ${opts.pattern}${opts.what ? ` (${opts.what})` : ''}`;
    const after = seconds(opts.elapsedMs);
    let head: string;
    switch (opts.reason) {
      case 'timeout':
        head = `timed out after ${after} ${waited}`;
        break;
      case 'failure-pattern':
        head = `failure pattern '${opts.matchedFailure}' seen after ${after} ${waited}` +
          (opts.failureLine === undefined ? '' : `: ${JSON.stringify(opts.failureLine)}`);
        break;
      case 'exited':
        head = `process exited after ${after} ${waited}`;
        break;
      case 'closed':
        head = `console stream closed after ${after} ${waited}`;
        break;
    }
    super(`${opts.console}: ${head}\n${formatTail(opts.consoleTail)}`, opts);
    this.console = opts.console;
    this.pattern = opts.pattern;
    this.reason = opts.reason;
    this.elapsedMs = opts.elapsedMs;
    this.consoleTail = opts.consoleTail;
    if (opts.what !== undefined) this.what = opts.what;
    if (opts.matchedFailure !== undefined) this.matchedFailure = opts.matchedFailure;
  }
}

export interface LaunchErrorOptions extends LabErrorOptions {
  /** Name of the process, e.g. "qemu c1". */
  process?: string;
  stderrTail?: string[];
}

/** A process failed to start or exited early. */
export class LaunchError extends HarnessError {
  readonly process?: string;
  readonly stderrTail: string[];

  constructor(message: string, opts: LaunchErrorOptions = {}) {
    const tail = opts.stderrTail ?? [];
    super(tail.length ? `${message}\n${formatTail(tail, 'stderr')}` : message, opts);
    if (opts.process !== undefined) this.process = opts.process;
    this.stderrTail = tail;
  }
}

export interface QmpErrorOptions extends LabErrorOptions {
  command?: string;
  /** QMP error class, e.g. "GenericError", "CommandNotFound". */
  errorClass?: string;
  desc?: string;
}

/** A QMP transport/protocol failure, or an "error" reply from QEMU. */
export class QmpError extends HarnessError {
  readonly command?: string;
  readonly errorClass?: string;
  readonly desc?: string;

  constructor(message: string, opts: QmpErrorOptions = {}) {
    super(message, opts);
    if (opts.command !== undefined) this.command = opts.command;
    if (opts.errorClass !== undefined) this.errorClass = opts.errorClass;
    if (opts.desc !== undefined) this.desc = opts.desc;
  }
}

/** A bounded wait that is not a console wait ran out. */
export class DeadlineError extends HarnessError {
  readonly what: string;
  readonly timeoutMs: number;
  readonly elapsedMs: number;

  constructor(what: string, timeoutMs: number, elapsedMs: number, opts: LabErrorOptions = {}) {
    super(`deadline exceeded: ${what} (limit ${Math.round(timeoutMs)} ms, waited ${Math.round(elapsedMs)} ms)`, opts);
    this.what = what;
    this.timeoutMs = timeoutMs;
    this.elapsedMs = elapsedMs;
  }
}

/** Process exit code for an error: the LabError's own, else 1. */
export function exitCodeOf(e: unknown): number {
  return e instanceof LabError ? e.exitCode : 1;
}

/** "--- last N console lines ---" followed by at most the last TAIL_LINES lines. */
export function formatTail(lines: string[], source = 'console'): string {
  if (lines.length === 0) return `--- no ${source} output ---`;
  const tail = lines.slice(-TAIL_LINES);
  return `--- last ${tail.length} ${source} lines ---\n${tail.join('\n')}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

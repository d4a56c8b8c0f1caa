/**
 * The wrapper's own errors. They say what broke in QEMU, QMP, a process or a console
 * wait; what that means for a caller (an exit code, a verdict on the guest) is the
 * caller's to decide: match on the class.
 */

/** How many console lines a console wait's error carries by default. */
export const TAIL_LINES = 40;

export interface WrapperErrorOptions {
  /** What the operator can do about it. */
  hint?: string;
  cause?: unknown;
}

/** The base class: every error the wrapper throws on purpose is one. */
export class QemuWrapperError extends Error {
  readonly hint?: string;

  constructor(message: string, opts: WrapperErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }
}

/** A builder was given something QEMU cannot take (a memory size, a MAC, a CPU count). */
export class QemuConfigError extends QemuWrapperError {}

export type ConsoleWaitReason = 'timeout' | 'failure-pattern' | 'exited' | 'closed';

export interface ConsoleWaitErrorOptions extends WrapperErrorOptions {
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
 * A console wait ended without its pattern: timeout, failure pattern, process exit or
 * EOF. Its message ends with the console's last lines.
 */
export class ConsoleWaitError extends QemuWrapperError {
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

/** A console's log file could not be written whole (`code`: the errno code, e.g. ENOSPC). */
export class ConsoleLogError extends QemuWrapperError {
  readonly path: string;
  readonly code?: string;

  constructor(message: string, opts: WrapperErrorOptions & { path: string; code?: string }) {
    super(message, opts);
    this.path = opts.path;
    if (opts.code !== undefined) this.code = opts.code;
  }
}

export interface LaunchErrorOptions extends WrapperErrorOptions {
  /** Name of the process, e.g. "qemu c1". */
  process?: string;
  stderrTail?: string[];
  /** The errno code of a failed spawn (ENOENT: the binary is missing). */
  code?: string;
}

/** A process failed to start or exited early. */
export class LaunchError extends QemuWrapperError {
  readonly process?: string;
  readonly stderrTail: string[];
  readonly code?: string;

  constructor(message: string, opts: LaunchErrorOptions = {}) {
    const tail = opts.stderrTail ?? [];
    super(tail.length ? `${message}\n${formatTail(tail, 'stderr')}` : message, opts);
    if (opts.process !== undefined) this.process = opts.process;
    if (opts.code !== undefined) this.code = opts.code;
    this.stderrTail = tail;
  }
}

/** A process did not end even after SIGKILL (an uninterruptible sleep). */
export class ProcessStuckError extends QemuWrapperError {}

export interface QmpErrorOptions extends WrapperErrorOptions {
  command?: string;
  /** QMP error class, e.g. "GenericError", "CommandNotFound". */
  errorClass?: string;
  desc?: string;
}

/** A QMP transport/protocol failure, or an "error" reply from QEMU. */
export class QmpError extends QemuWrapperError {
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
export class DeadlineError extends QemuWrapperError {
  readonly what: string;
  readonly timeoutMs: number;
  readonly elapsedMs: number;

  constructor(what: string, timeoutMs: number, elapsedMs: number, opts: WrapperErrorOptions = {}) {
    super(`deadline exceeded: ${what} (limit ${Math.round(timeoutMs)} ms, waited ${Math.round(elapsedMs)} ms)`, opts);
    this.what = what;
    this.timeoutMs = timeoutMs;
    this.elapsedMs = elapsedMs;
  }
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

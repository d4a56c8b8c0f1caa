/**
 * The error taxonomy. The kind decides the exit code, so CI can tell "the stack under
 * test is broken" (sut) from "the lab itself is broken" (setup, harness).
 */

import { ConsoleLogError, ConsoleWaitError, DeadlineError, formatTail, LaunchError, QemuConfigError, QemuWrapperError, QmpError, TAIL_LINES } from '../qemu-ts-wrapper';

// The QEMU layer's errors are qemu-ts-wrapper's own; the lab reads them through here.
export { ConsoleLogError, ConsoleWaitError, DeadlineError, formatTail, LaunchError, QemuConfigError, QemuWrapperError, QmpError, TAIL_LINES };
export type { ConsoleWaitReason } from '../qemu-ts-wrapper';

export type ErrorKind = 'usage' | 'setup' | 'sut' | 'harness' | 'regression';

export interface LabErrorOptions {
  /** What the operator can do about it, printed after the message. */
  hint?: string;
  cause?: unknown;
}

/** 6: the stack works but boots slower than its baseline (harness/gate), so CI can tell "slower" from "broken". */
const EXIT_CODES: Readonly<Record<ErrorKind, number>> = { usage: 2, setup: 3, sut: 4, harness: 5, regression: 6 };


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

/**
 * What an error means to the lab: a LabError's own kind; for the QEMU layer's errors, a
 * bad builder input is usage, a console log the disk cannot hold is setup, the rest is
 * the harness (a wait can be wrong: a pattern or a budget; a caller that knows the stack
 * is at fault wraps it in a SutError). Undefined for anything else.
 */
export function errorKind(e: unknown): ErrorKind | undefined {
  if (e instanceof LabError) return e.kind;
  if (e instanceof QemuConfigError) return 'usage';
  if (e instanceof ConsoleLogError) return 'setup';
  if (e instanceof QemuWrapperError) return 'harness';
  return undefined;
}

/** True for the errors the lab knows (its own and the QEMU layer's): those it reports without a stack. */
export function isKnownError(e: unknown): e is LabError | QemuWrapperError {
  return errorKind(e) !== undefined;
}

/** Process exit code for an error: its kind's, else 1. */
export function exitCodeOf(e: unknown): number {
  const kind = errorKind(e);
  return kind === undefined ? 1 : EXIT_CODES[kind];
}

/**
 * The lab's reading of a console log that could not be written: a SetupError that says
 * what to do about a full report disk.
 */
export function consoleLogSetupError(e: ConsoleLogError): SetupError {
  const full = e.code === 'ENOSPC' || e.code === 'EDQUOT';
  return new SetupError(`${e.message}${full ? ': the report folder\'s disk is full' : ''}`, {
    hint: full ? 'free space on that disk, or give --report a folder on a disk with room' : 'check the report folder',
    cause: e.cause,
  });
}

/** A builder input QEMU cannot take, read as the lab's UsageError (with `hint`, when given); other errors as they are. */
export function qemuConfigUsageError(e: unknown, hint?: string): unknown {
  if (e instanceof QemuConfigError) return new UsageError(e.message, { cause: e, ...(hint === undefined ? {} : { hint }) });
  return e;
}

/** QEMU that could not be started because its binary is missing: a SetupError saying how to install it; other errors as they are. */
export function qemuLaunchError(e: unknown, command: string): unknown {
  if (e instanceof LaunchError && e.code === 'ENOENT') {
    return new SetupError(`QEMU is missing: cannot run ${command}`, { hint: 'apt-get install qemu-system-x86 ipxe-qemu (./lab setup does it)', cause: e });
  }
  return e;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

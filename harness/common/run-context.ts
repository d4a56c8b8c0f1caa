import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { readProcStat, statField } from './proc-stat';

/** The docker label every lab resource carries; its value is the run id. */
export const LAB_LABEL = 'ltsp-lab';
export const RUN_LABEL = 'ltsp-lab.run';
/** "pid:starttime" of the process that owns a run, so a reaper can tell a live run from a dead one. */
export const OWNER_LABEL = 'ltsp-lab.owner';
/** The artefact an image-build container makes (vm-images/build.sh sets it). */
export const ARTEFACT_LABEL = 'ltsp-lab.artefact';

/** A run id: 6 base-36 characters, short enough for 15-character interface names (ltl<id>, ltt<id>c<n>). */
export function isRunId(s: string): boolean {
  return /^[a-z0-9]{6}$/.test(s);
}

/** A state folder being registered: `.new-<run id>-<pid>` until it is renamed to the run id. */
export const NEW_STATE_PREFIX = '.new-';

/** Per-run state (owner file, QEMU pidfiles and QMP sockets), one folder per run id. */
export function stateRoot(): string {
  return process.env.LTSP_LAB_STATE ?? '/run/ltsp-lab';
}

/** The kernel's start time of a process (clock ticks since boot, /proc/PID/stat field 22), or null. */
export function processStartTime(pid: number): string | null {
  const stat = readProcStat(pid);
  return stat === null ? null : (statField(stat, 22) ?? null);
}

/** Whether the owner recorded as "pid:starttime" is still the same live process. */
export function ownerAlive(owner: string): boolean {
  const [pid, start] = owner.split(':');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return false;
  return processStartTime(n) === start;
}

/**
 * Identity of one harness run. Every container, network, bridge, tap, temp folder and
 * QEMU process it creates carries the id (label or name prefix), so a later run, or
 * `./lab clean`, can reap what a crashed run left behind and nothing else.
 */
export class RunContext {
  readonly id: string;
  readonly owner: string;
  readonly host = hostname();

  constructor(id?: string) {
    // 6 base-36 chars: short enough for 15-char interface names (ltl<id>, ltt<id>c<n>).
    this.id = id ?? BigInt('0x' + randomBytes(5).toString('hex')).toString(36).padStart(6, '0').slice(-6);
    if (!isRunId(this.id)) throw new RangeError(`bad run id '${this.id}'`);
    this.owner = `${process.pid}:${processStartTime(process.pid) ?? '0'}`;
  }

  /** This run's state folder: `owner` plus a folder per QEMU client. */
  get stateDir(): string {
    return join(stateRoot(), this.id);
  }

  /**
   * Creates the state folder with the owner already in it, so a reaper can tell whether
   * the run lives: the folder is made under a name no reaper reads (not a run id) and
   * renamed into place, so none ever sees it without its owner.
   */
  register(): void {
    mkdirSync(stateRoot(), { recursive: true });
    if (existsSync(this.stateDir)) {
      // Registered again: the owner file is replaced whole, never seen half-written.
      const file = join(this.stateDir, 'owner');
      writeFileSync(`${file}.new`, this.owner + '\n');
      renameSync(`${file}.new`, file);
      return;
    }
    const tmp = join(stateRoot(), `${NEW_STATE_PREFIX}${this.id}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'owner'), this.owner + '\n');
    try {
      renameSync(tmp, this.stateDir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes the state folder (after everything in it has stopped). */
  unregister(): void {
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  labels(extra: Record<string, string> = {}): Record<string, string> {
    return { [LAB_LABEL]: 'true', [RUN_LABEL]: this.id, [OWNER_LABEL]: this.owner, ...extra };
  }

  get networkName(): string {
    return `ltsp-lab-${this.id}`;
  }

  get bridgeName(): string {
    return `ltl${this.id}`;
  }

  tapName(index: number): string {
    return `ltt${this.id}c${index}`;
  }

  get serverName(): string {
    return `ltsp-lab-${this.id}-server`;
  }
}

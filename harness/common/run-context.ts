import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { bridgeName, isRunId, networkName, tapName } from './resource-names';
import { checkStateRoot, NEW_STATE_PREFIX, processStartTime, RUN_MARKER, runMarkerText, stateRoot } from './state-root';

/** The docker label every lab resource carries; its value is the run id. */
export const LAB_LABEL = 'ltsp-lab';
export const RUN_LABEL = 'ltsp-lab.run';
/** "pid:starttime" of the process that owns a run, so a reaper can tell a live run from a dead one. */
export const OWNER_LABEL = 'ltsp-lab.owner';
/** The artefact an image-build container makes (vm-images/build.sh sets it). */
export const ARTEFACT_LABEL = 'ltsp-lab.artefact';

export { isRunId, NEW_STATE_PREFIX, ownerAlive, processStartTime, RUN_MARKER, stateRoot } from './state-root';

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
   * Creates the state folder with its marker and owner already in it, so a reaper can
   * tell it is the lab's and whether the run lives: the folder is made under a name no
   * reaper takes for a run and renamed into place, so none ever sees it half-made. The
   * state root is checked first (checkStateRoot): a root that is not the lab's is refused.
   */
  register(): void {
    const root = checkStateRoot().root;
    if (existsSync(this.stateDir)) {
      // Registered again: the owner file is replaced whole, never seen half-written.
      const file = join(this.stateDir, 'owner');
      writeFileSync(`${file}.new`, this.owner + '\n');
      renameSync(`${file}.new`, file);
      return;
    }
    const tmp = join(root, `${NEW_STATE_PREFIX}${this.id}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      writeFileSync(join(tmp, RUN_MARKER), runMarkerText(this.id));
      writeFileSync(join(tmp, 'owner'), this.owner + '\n');
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
    return networkName(this.id);
  }

  get bridgeName(): string {
    return bridgeName(this.id);
  }

  tapName(index: number): string {
    return tapName(this.id, index);
  }

  get serverName(): string {
    return `${networkName(this.id)}-server`;
  }
}

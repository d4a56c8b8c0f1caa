import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SetupError } from './errors';
import { readProcStat, statField } from './proc-stat';
import { isRunId, pendingPattern } from './resource-names';
import { refusePseudoFs, writableDirLevels } from './writable-dir';

/**
 * The state root ($LTSP_LAB_STATE, default /run/ltsp-lab) holds one folder per run and
 * a few host-wide files, nothing else. The lab removes only what it can prove it made:
 * a run folder carries a marker file it writes (RUN_MARKER, naming the run), and a root
 * that holds anything the lab did not make is refused before anything is removed.
 */
export function stateRoot(): string {
  return process.env.LTSP_LAB_STATE ?? '/run/ltsp-lab';
}

export { isRunId };

/** A state folder being registered: `.new-<run id>-<pid>` until it is renamed to the run id. */
export const NEW_STATE_PREFIX = '.new-';

/** The file in a run folder that says the lab made it; a folder without it is never the lab's. */
export const RUN_MARKER = 'ltsp-lab-run';

/** What RUN_MARKER holds: the run it marks, so a file of that name someone else wrote proves nothing. */
export function runMarkerText(id: string): string {
  return `ltsp-lab run ${id}\n`;
}

/** The host-wide file the accelerator choice caches its verdict in (harness/accel). */
export const ACCEL_VERDICT_FILE = 'accel-verdict.json';

/** The host-wide files of the root, with their temp files while written (`<name>.<pid>.tmp`). */
const ROOT_FILE = new RegExp(`^${ACCEL_VERDICT_FILE.replace(/\./g, '\\.')}(\\.\\d+\\.tmp)?$`);
/** The write probe of writable-dir, left only by a process killed between its two calls. */
const WRITE_PROBE = /^\.write-probe-\d+$/;
const PENDING = pendingPattern(NEW_STATE_PREFIX);

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

function marked(dir: string, id: string): boolean {
  try {
    return readFileSync(join(dir, RUN_MARKER), 'utf8') === runMarkerText(id);
  } catch {
    return false;
  }
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function readOwner(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, 'owner'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What the state root holds, as the lab sees it. */
export interface StateRootScan {
  root: string;
  /** Marked run folders: run id -> its owner ("pid:starttime"), undefined when it has none. */
  runs: Map<string, string | undefined>;
  /** `.new-<id>-<pid>` folders a register() makes (marked, or its pid lives, or empty): name -> that pid. */
  pending: Map<string, number>;
  /**
   * Run folders of a lab from before the marker (a run id's name, an owner file of
   * "pid:starttime") whose owner still runs: left alone, never removed, never refused.
   */
  unmarkedLive: string[];
  /** Everything else: not the lab's. */
  foreign: string[];
}

/** Sorts the root's entries into the lab's and the rest; reads, never writes. An absent root is empty. */
export function scanStateRoot(root: string = stateRoot()): StateRootScan {
  const scan: StateRootScan = { root, runs: new Map(), pending: new Map(), unmarkedLive: [], foreign: [] };
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return scan;
    throw new SetupError(`cannot read the state folder ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: HINT });
  }
  for (const name of names.sort()) {
    const dir = join(root, name);
    const pending = PENDING.exec(name);
    if (isRunId(name) && marked(dir, name)) scan.runs.set(name, readOwner(dir));
    // Another lab's register() between its mkdir and its marker: its pid lives. A crash
    // in that window leaves the folder empty, which rmdir removes losing nothing.
    else if (pending && (marked(dir, pending[1] as string) || processStartTime(Number(pending[2])) !== null || isEmptyDir(dir))) scan.pending.set(name, Number(pending[2]));
    else if (ROOT_FILE.test(name) || WRITE_PROBE.test(name)) continue;
    else if (isRunId(name) && /^\d+:\d+$/.test(readOwner(dir) ?? '') && ownerAlive(readOwner(dir) as string)) scan.unmarkedLive.push(name);
    else scan.foreign.push(name);
  }
  return scan;
}

const HINT = 'point LTSP_LAB_STATE at a folder of the lab\'s own (a new or empty one), or unset it for /run/ltsp-lab';

/**
 * The state root, checked before anything reads or removes in it: not under /proc or
 * /sys nor on another pseudo filesystem, made if missing (one level at a time: Node's
 * recursive mkdir spins forever, deaf to signals, under /proc), writable when `write`,
 * and holding nothing that is not the lab's. Otherwise a SetupError (exit 3) that says
 * what to do. Synchronous and quick: it runs first, before any Docker call.
 */
export function checkStateRoot(opts: { write?: boolean; root?: string } = {}): StateRootScan {
  const root = opts.root ?? stateRoot();
  const what = `state folder (LTSP_LAB_STATE) ${root}`;
  const fail = (msg: string): never => {
    throw new SetupError(`the ${what} cannot be used: ${msg}`, { hint: HINT });
  };
  refusePseudoFs(root, fail);
  if (opts.write !== false) writableDirLevels(root, fail);
  const scan = scanStateRoot(root);
  if (scan.foreign.length > 0) {
    const shown = scan.foreign.slice(0, 5).join(', ') + (scan.foreign.length > 5 ? `, and ${scan.foreign.length - 5} more` : '');
    throw new SetupError(
      `the ${what} holds what the lab did not make (${shown}): the lab keeps its runs in a folder of its own and never touches what it did not make, so it will not use this one`,
      { hint: `${HINT}; a run folder an older ./lab left (a folder with an 'owner' file and no '${RUN_MARKER}') is removed by hand once its owner is gone` },
    );
  }
  return scan;
}

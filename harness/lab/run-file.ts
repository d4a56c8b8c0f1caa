import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { schemaCheck } from '../common/json-schema';
import { checkStateRoot, ownerAlive, stateRoot } from '../common/state-root';
import type { ClientState } from '../boot/thin-client';

/**
 * `run.json` in a run's state folder: what `./lab ls`, `./lab attach` and `./lab stop`
 * need of a `./lab boot` while it runs (its owner, its clients, their stage and console
 * socket), rewritten whole as stages pass. It goes with the state folder: the run's
 * teardown, or the reaper once its owner is dead.
 */
export const RUN_FILE = 'run.json';

/** run.json's JSON Schema (beside this file): what readRunFile takes for a run file. */
export const RUN_FILE_SCHEMA = schemaCheck('harness/lab/run-file.schema.json');

export interface RunFileClient {
  name: string;
  mac: string;
  /** What it boots: its client kind (client/client-spec.ts); absent in an older run file. */
  kind?: string;
  /** The address its firmware leased, once it has one. */
  lease?: string;
  state: ClientState;
  /** The last stage it reached (its label), or 'powered on'. */
  stage: string;
  /** The stage its boot failed at (id), if it failed. */
  failedStage?: string;
  /** Its console socket, while one is served (--keep). */
  console?: string;
  consoleLog: string;
}

export interface RunFileData {
  version: 1;
  run: string;
  /** "pid:starttime" of the owning process (RunContext.owner). */
  owner: string;
  pid: number;
  /** ISO time the run started. */
  startedAt: string;
  command: string;
  reportDir: string;
  /** Kept up (--keep) once its boots are over, until Ctrl-C or ./lab stop. */
  kept: boolean;
  clients: RunFileClient[];
}

/** Writes the run file whole (a reader never sees half of it). */
export function writeRunFile(stateDir: string, data: RunFileData): void {
  const file = join(stateDir, RUN_FILE);
  writeFileSync(`${file}.new`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${file}.new`, file);
}

/** A run's state folder as `./lab ls` sees it. */
export interface RunEntry {
  id: string;
  /** "pid:starttime" from its owner file; undefined when it has none. */
  owner?: string;
  /** Its owner process still runs. */
  alive: boolean;
  /** The user its owner runs as (its uid), while it runs. */
  uid?: number;
  /** When it started: the run file's time, else its owner file's. */
  startedAt: Date;
  /** Its run file, if it has one (a ./lab boot); labs of tests and benches have none. */
  file?: RunFileData;
}

/** The uid a process runs as, or undefined once it is gone. */
function processUid(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/**
 * The runs in the state root (LTSP_LAB_STATE), oldest first: its marked run folders (and
 * an older lab's live ones). A root that holds what the lab did not make is refused
 * (checkStateRoot, exit 3): nothing in it is listed as a run, dead or alive.
 */
export function listRuns(root: string = stateRoot()): RunEntry[] {
  const scan = checkStateRoot({ root, write: false });
  const out: RunEntry[] = [];
  for (const id of [...scan.runs.keys(), ...scan.unmarkedLive]) {
    const dir = join(root, id);
    let owner: string | undefined;
    try {
      owner = readFileSync(join(dir, 'owner'), 'utf8').trim() || undefined;
    } catch {
      owner = undefined;
    }
    const file = readRunFile(dir);
    let startedAt: Date;
    try {
      // The owner file is written once, at register; the folder's own time moves with every pidfile.
      startedAt = file ? new Date(file.startedAt) : statSync(join(dir, owner ? 'owner' : '.')).mtime;
    } catch {
      continue; // gone while we looked
    }
    const alive = owner ? ownerAlive(owner) : false;
    const uid = alive ? processUid(Number(owner?.split(':')[0])) : undefined;
    out.push({ id, ...(owner ? { owner } : {}), alive, ...(uid !== undefined ? { uid } : {}), startedAt, ...(file ? { file } : {}) });
  }
  return out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
}

/** A run file, or undefined when there is none or it is not one (never half-written: see writeRunFile). */
export function readRunFile(stateDir: string): RunFileData | undefined {
  try {
    const data: unknown = JSON.parse(readFileSync(join(stateDir, RUN_FILE), 'utf8'));
    return RUN_FILE_SCHEMA.errors(data).length === 0 ? (data as RunFileData) : undefined;
  } catch {
    return undefined;
  }
}

export interface PickRunOptions {
  /** What a run must be for the command, beside live with a run file (e.g. kept up, with a console). */
  what?: (r: RunEntry) => boolean;
  /** What it is called when a named run is not that, e.g. 'a ./lab boot --keep run that is kept up'. */
  whatName?: string;
  /** Only runs of this user (uid); undefined: anyone's. */
  uid?: number;
  /** How a named run of another user is taken all the same (e.g. '--all-users'). */
  otherUsers?: string;
  /** What the hint calls the runs it offers (default 'live runs'). */
  label?: string;
}

/**
 * The live run a command means: `id` when given (it must be live, have a run file, be
 * `what`, and be the user's when `uid` is given), else the only live one that is. Anything
 * else is a UsageError; its hint offers only runs the command would take.
 */
export function pickRun(runs: readonly RunEntry[], id: string | undefined, opts: PickRunOptions = {}): RunEntry {
  const what = opts.what ?? (() => true);
  const whatName = opts.whatName ?? 'a ./lab boot --keep run';
  const mine = (r: RunEntry): boolean => opts.uid === undefined || r.uid === opts.uid;
  const live = runs.filter((r) => r.alive && r.file && what(r) && mine(r));
  const label = opts.label ?? 'live runs';
  const choices = live.length ? `${label}: ${live.map((r) => r.id).join(', ')}` : `no ${label.replace(/runs/, 'run')}: ./lab boot --keep keeps one up`;
  if (id !== undefined) {
    const r = runs.find((x) => x.id === id);
    if (!r) throw new UsageError(`there is no run '${id}'`, { hint: choices });
    if (!r.alive) throw new UsageError(`run ${id} is not live: its owner (pid ${r.owner?.split(':')[0] ?? '?'}) is gone`, { hint: './lab clean reaps what it left' });
    if (!r.file || !what(r)) throw new UsageError(`run ${id} is not ${whatName}`, { hint: choices });
    if (!mine(r)) throw new UsageError(`run ${id} is another user's (uid ${r.uid ?? '?'})`, { hint: opts.otherUsers ? `${opts.otherUsers} takes it all the same` : choices });
    return r;
  }
  if (live.length === 1) return live[0] as RunEntry;
  throw new UsageError(live.length === 0 ? 'no run to pick' : `${live.length} runs are live: say which`, { hint: choices });
}

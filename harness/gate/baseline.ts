import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BASELINES_DIR } from '../report/baseline';
import { spread } from '../bench/stats';
import { SetupError } from '../common/errors';
import { clientSpecProblem, storedClientSpec } from '../client/client-spec';
import { repoRoot } from '../common/paths';
import { BASELINE_SCHEMA_VERSION, type Baseline, type BootConfig, type BootSample, type Measured } from './types';

/** fixtures/baselines/ in the repo; LTSP_LAB_BASELINES elsewhere (a test's own baselines). */
export function baselinesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LTSP_LAB_BASELINES ?? BASELINES_DIR;
}

export function baselinePath(profile: string, dir = baselinesDir()): string {
  return join(dir, `${profile}.json`);
}

/** A path as a person reads it: relative to the repo when inside it. */
export function shownPath(file: string): string {
  const rel = relative(repoRoot(), file);
  return rel.startsWith('..') ? file : rel;
}

function measured(values: number[], waits?: number[]): Measured {
  const s = spread(values);
  return { medianMs: Math.round(s?.median ?? 0), samples: values.map((v) => Math.round(v)), ...(waits ? { waitSamples: waits.map((v) => Math.round(v)) } : {}) };
}

export interface BaselineMeta {
  profile: string;
  clientsAtOnce: number;
  config: BootConfig;
  createdAt?: Date;
  /** The recording machine (gate/host-id.ts). */
  host?: string;
}

/**
 * A baseline from boots of one run. Each boot is scaled to the baseline's guest speed factor
 * (the median of the boots'), so boots of runs that calibrated differently still agree.
 */
export function makeBaseline(samples: readonly BootSample[], meta: BaselineMeta): Baseline {
  if (samples.length === 0) throw new Error('a baseline needs at least one boot');
  const speedFactor = spread(samples.map((s) => s.speedFactor))!.median;
  const scale = (s: BootSample): number => speedFactor / s.speedFactor;
  // The guests' waits for a host CPU, when every boot was watched.
  const watched = samples.every((s) => s.waitMs !== undefined && s.totalWaitMs !== undefined);
  const stages: Record<string, Measured> = {};
  for (const id of Object.keys(samples[0]!.stages)) {
    const having = samples.filter((s) => id in s.stages);
    stages[id] = measured(having.map((s) => s.stages[id]! * scale(s)), watched ? having.map((s) => (s.waitMs![id] ?? 0) * scale(s)) : undefined);
  }
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    profile: meta.profile,
    speedFactor,
    runs: samples.length,
    createdAt: (meta.createdAt ?? new Date()).toISOString(),
    ...(meta.host !== undefined ? { host: meta.host } : {}),
    stages,
    totalMs: measured(samples.map((s) => s.totalMs * scale(s)), watched ? samples.map((s) => s.totalWaitMs! * scale(s)) : undefined),
    clientsAtOnce: meta.clientsAtOnce,
    guestsAtOnce: Math.max(...samples.map((s) => s.guestsAtOnce)),
    otherLoad: Math.round(spread(samples.map((s) => s.otherLoad))!.median * 100) / 100,
    config: meta.config,
  };
}

function isMeasured(m: unknown): m is Measured {
  const o = m as Measured | null;
  return (
    typeof o === 'object' && o !== null && typeof o.medianMs === 'number' && Array.isArray(o.samples) && o.samples.every((v) => typeof v === 'number') &&
    (o.waitSamples === undefined || (Array.isArray(o.waitSamples) && o.waitSamples.length === o.samples.length && o.waitSamples.every((v) => typeof v === 'number')))
  );
}

/** Why `data` is not a Baseline, or undefined when it is one. */
export function baselineProblem(data: unknown): string | undefined {
  const b = data as Partial<Baseline> | null;
  if (typeof b !== 'object' || b === null) return 'not a JSON object';
  if (b.schemaVersion !== BASELINE_SCHEMA_VERSION) {
    const v1 = b.schemaVersion === 1 ? ' (version 1 was scaled by the CPU calibration, not the guest speed)' : '';
    return `schemaVersion is ${JSON.stringify(b.schemaVersion)}, not ${BASELINE_SCHEMA_VERSION}${v1}`;
  }
  for (const k of ['profile', 'createdAt'] as const) if (typeof b[k] !== 'string') return `${k} is not a string`;
  if (b.host !== undefined && typeof b.host !== 'string') return 'host is not a string';
  for (const k of ['speedFactor', 'runs', 'clientsAtOnce', 'guestsAtOnce', 'otherLoad'] as const) {
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k])) return `${k} is not a number`;
  }
  if (!(b.speedFactor! > 0)) return 'speedFactor is not positive';
  if (typeof b.stages !== 'object' || b.stages === null || Object.keys(b.stages).length === 0) return 'stages is empty';
  for (const [id, m] of Object.entries(b.stages)) if (!isMeasured(m)) return `stages.${id} is not { medianMs, samples }`;
  if (!isMeasured(b.totalMs)) return 'totalMs is not { medianMs, samples }';
  const c = b.config as Partial<BootConfig> | undefined;
  if (typeof c?.memoryMb !== 'number' || typeof c.nic !== 'string' || typeof c.union !== 'boolean') return 'config is not { memoryMb, nic, union, client }';
  // Recorded before clients had kinds: whose boots it holds is unknown, so it judges none.
  if (c.client === undefined) return 'config has no client: it does not say which client kind it is of';
  const client = clientSpecProblem(c.client);
  if (client) return `config.client: ${client}`;
  return undefined;
}

/** The baseline of a profile, or undefined when none was recorded. A file that is not one is a set-up problem. */
export function loadBaseline(profile: string, dir = baselinesDir()): Baseline | undefined {
  const file = baselinePath(profile, dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SetupError(`cannot read the baseline ${shownPath(file)}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SetupError(`the baseline ${shownPath(file)} is not JSON: ${(e as Error).message}`, { hint: 'record it again: ./lab baseline --update' });
  }
  const problem = baselineProblem(data) ?? ((data as Baseline).profile === profile ? undefined : `it is for profile '${(data as Baseline).profile}'`);
  if (problem) throw new SetupError(`the baseline ${shownPath(file)} is not a baseline of ${profile}: ${problem}`, { hint: 'record it again: ./lab baseline --update' });
  const baseline = data as Baseline;
  // A baseline from before a later dimension (the stack) was recorded at its default.
  return { ...baseline, config: { ...baseline.config, client: storedClientSpec(baseline.config.client) ?? baseline.config.client } };
}

/**
 * Every baseline in `dir` read and checked, as the gate would read it: run before a
 * gated boot starts anything, so a damaged file is a set-up problem (exit 3) in a
 * second, not after a full boot. The profile the gate reads is known only once the
 * accelerator is chosen, so each file is checked. A folder that is not there holds no
 * baselines (the gate then says inconclusive, with how to record one). Returns the
 * profiles found.
 */
export function checkBaselines(dir = baselinesDir()): string[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SetupError(`cannot read the baselines folder ${shownPath(dir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'LTSP_LAB_BASELINES must name a folder of baselines (default fixtures/baselines)',
    });
  }
  const profiles = files.map((f) => f.slice(0, -'.json'.length)).sort();
  for (const p of profiles) loadBaseline(p, dir);
  return profiles;
}

/** Writes a baseline atomically; returns its path. */
export function writeBaseline(baseline: Baseline, dir = baselinesDir()): string {
  const file = baselinePath(baseline.profile, dir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(baseline, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
  return file;
}

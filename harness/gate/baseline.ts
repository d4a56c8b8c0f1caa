import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BASELINES_DIR } from '../results/baseline';
import type { BaselineFacts } from '../results/types';
import { spread } from '../common/spread';
import { SetupError } from '../common/errors';
import { clientSpecSchema } from '../client/client-spec';
import { schemaCheck } from '../common/json-schema';
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

/** A baseline file's JSON Schema (beside this file), with the client kinds made from their one table. */
export const BASELINE_SCHEMA = schemaCheck('harness/gate/baseline.schema.json', (s) => {
  s.definitions = { ...s.definitions, clientSpec: clientSpecSchema() };
});

/** Why `data` is not a Baseline, or undefined when it is one. */
export function baselineProblem(data: unknown): string | undefined {
  const b = data as Partial<Baseline> | null;
  // What a person can act on first: a file of another version, or of before client kinds.
  if (typeof b === 'object' && b !== null && !Array.isArray(b)) {
    if (b.schemaVersion !== BASELINE_SCHEMA_VERSION) {
      const v1 = b.schemaVersion === 1 ? ' (version 1 was scaled by the CPU calibration, not the guest speed)' : '';
      return `schemaVersion is ${JSON.stringify(b.schemaVersion)}, not ${BASELINE_SCHEMA_VERSION}${v1}`;
    }
    // Recorded before clients had kinds: whose boots it holds is unknown, so it judges none.
    const c = b.config as Partial<BootConfig> | undefined;
    if (typeof c === 'object' && c !== null && c.client === undefined) return 'config has no client: it does not say which client kind it is of';
  }
  const errors = BASELINE_SCHEMA.errors(data);
  if (errors.length > 0) return errors.slice(0, 4).join('; ');
  const measured = [...Object.entries(b!.stages!).map(([id, m]) => [`stages.${id}`, m] as const), ['totalMs', b!.totalMs!] as const];
  for (const [where, m] of measured) {
    if (m.waitSamples !== undefined && m.waitSamples.length !== m.samples.length) return `${where}: ${m.waitSamples.length} waitSamples for ${m.samples.length} samples`;
  }
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
  return withUnionInClient(data as Baseline);
}

/**
 * A baseline as the gate reads it: one recorded before the union method was a dimension of
 * the client says config.union, a boolean (true: unionfs-fuse, the default; false: none);
 * its client says nothing of the union. The client then carries it, and the boolean goes.
 */
export function withUnionInClient(b: Baseline): Baseline {
  const { union, ...config } = b.config as BootConfig & { union?: boolean };
  if (union === undefined) return b;
  const client = union || b.config.client.union !== undefined ? b.config.client : { ...b.config.client, union: 'none' as const };
  return { ...b, config: { ...config, client } };
}

/**
 * The baseline of `profile` as the report draws it: loadBaseline's, or undefined when
 * there is none or it is not one the gate would judge by (a report must not fail on it;
 * the gate says what is wrong with the file).
 */
export function baselineFacts(profile: string, dir = baselinesDir()): BaselineFacts | undefined {
  let b: Baseline | undefined;
  try {
    b = loadBaseline(profile, dir);
  } catch {
    return undefined;
  }
  if (b === undefined) return undefined;
  return {
    profile,
    file: relative(repoRoot(), baselinePath(profile, dir)),
    stages: Object.entries(b.stages).map(([stage, m]) => ({ stage, medianMs: m.medianMs })),
    client: b.config.client,
    runs: b.runs,
    createdAt: b.createdAt,
    speedFactor: b.speedFactor,
    totalMs: b.totalMs.medianMs,
  };
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

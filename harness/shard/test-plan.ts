import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UsageError } from '../common/errors';
import { repoRoot } from '../common/paths';
import type { ShardRef, TestSelection } from '../results/types';
import { defaultFileMs, type TestDurations } from './durations';
import { splitLanes } from './lanes';
import { partitionFiles, type Shard } from './partition';
import { DEFAULT_TIER, tierGrep, type Tier } from './tiers';

/** Where the end-to-end suites are, and how their files are named. */
export const E2E_DIR = 'scenarios';
export const E2E_SUFFIX = '.e2e.ts';

/** Every e2e file, repo-relative, in name order (mocha --sort's). */
export function e2eFiles(root = repoRoot()): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(E2E_SUFFIX)) out.push(relative(root, p));
    }
  };
  walk(join(root, E2E_DIR));
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `--shard I/N`: shard I (from 1) of N. */
export function parseShard(raw: string): ShardRef {
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`--shard '${raw}' is not I/N`, { hint: 'e.g. --shard 1/2 runs the first of two shards' });
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${raw}: I must be 1 to N, and N at least 1`);
  return { index, count };
}

/** `--grep PATTERN`, checked as mocha will read it (a RegExp, or /RE/FLAGS). */
export function validateGrep(raw: string): string {
  if (raw === '') throw new UsageError('--grep needs a pattern', { hint: "e.g. --grep 'bad input' runs the tests whose full title matches" });
  if (/[\r\n]/.test(raw)) throw new UsageError('--grep contains a newline');
  const m = /^\/(.*)\/([gimy]{0,4})$/.exec(raw);
  try {
    new RegExp(m ? (m[1] as string) : raw, m ? m[2] : undefined);
  } catch (e) {
    throw new UsageError(`--grep '${raw}' is not a regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
  return raw;
}

export interface TestArgs {
  grep?: string;
  shard?: ShardRef;
  /** --tier; absent: the default (full). */
  tier?: Tier;
  /** false with --no-checks: no type-check, lint or unit tests. */
  checks: boolean;
}

export interface TestPlan {
  /** Whether this run does the static checks and unit tests. */
  checks: boolean;
  /** The user's --grep: the unit tests' filter. */
  grep?: string;
  tier: Tier;
  /** The end-to-end run's --grep: the tier's tag and the user's --grep (tierGrep). */
  e2eGrep?: string;
  shard?: ShardRef;
  /** The e2e files this run loads: unsharded, those of the guest lane (lanes.ts). */
  files: string[];
  /**
   * Unsharded: the e2e files of the guestless lane, run beside `files` after the checks
   * (lanes.ts). A shard runs its files in one lane: a CI engine runs shards side by side.
   */
  guestless?: string[];
  /** With --shard: every shard, with its expected time (this one is shard.index). */
  shards?: Shard[];
  /** The e2e files the record does not know, weighed `defaultMs`. */
  unrecorded?: string[];
  defaultMs?: number;
}

/**
 * What one `./lab test` runs. Unsharded: every e2e file, and the checks unless
 * --no-checks. Sharded: the files `partitionFiles` gives shard I, and the checks in
 * shard 1 only, counted as shard 1's head start (about 36 s of ~15 min here; running
 * them on every runner would cost that N times and report one lint error N times).
 * The split depends on the record and N alone (not on --grep, which filters within
 * the files, nor on --no-checks), so runners given different options still agree.
 */
export function planTestRun(args: TestArgs, files: readonly string[], durations?: TestDurations): TestPlan {
  const tier = args.tier ?? DEFAULT_TIER;
  const e2eGrep = tierGrep(tier, args.grep);
  const grep = { ...(args.grep === undefined ? {} : { grep: args.grep }), tier, ...(e2eGrep === undefined ? {} : { e2eGrep }) };
  if (!args.shard) {
    const lanes = splitLanes(files);
    return { checks: args.checks, ...grep, files: lanes.guests, guestless: lanes.guestless };
  }
  const { index, count } = args.shard;
  if (count > files.length) throw new UsageError(`--shard ${index}/${count}: the suite has ${files.length} end-to-end files, so at most ${files.length} shards`);
  if (!durations) throw new Error('planTestRun: a sharded plan needs the recorded durations');
  const defaultMs = defaultFileMs(durations);
  const shards = partitionFiles({ files, durations: durations.files, defaultMs, count, headStartMs: durations.checksMs });
  const unrecorded = files.filter((f) => !Object.hasOwn(durations.files, f));
  return { checks: args.checks && index === 1, ...grep, shard: args.shard, files: (shards[index - 1] as Shard).files, shards, unrecorded, defaultMs };
}

/**
 * What results.json keeps of the plan (selection), without the checks' time, which is
 * measured: of the guest lane's part, or with `lane` 'guestless' of the guestless lane's.
 */
export function planSelection(plan: TestPlan, lane: 'guests' | 'guestless' = 'guests'): TestSelection {
  const files = lane === 'guests' ? plan.files : (plan.guestless ?? []);
  return { ...(plan.grep === undefined ? {} : { grep: plan.grep }), ...(plan.shard ? { shard: plan.shard } : {}), tier: plan.tier, files };
}

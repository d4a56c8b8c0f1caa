/**
 * Splitting the end-to-end suite across N runners. The unit is the e2e file: a suite
 * file shares one lab among its tests (scenarios/support/suite-lab.ts), so splitting
 * a file would boot its lab twice. Files are weighed by their recorded wall time
 * (fixtures/test-durations.json), not counted: one field-faults file takes as long as
 * the ten cheapest together.
 */

export interface Shard {
  /** 1-based, as `--shard I/N` says it. */
  index: number;
  files: string[];
  /** What this shard is expected to take, ms: its files' recorded times plus any head start. */
  expectedMs: number;
}

export interface PartitionInput {
  /** The e2e files, repo-relative. Order does not matter: the result is the same for any. */
  files: readonly string[];
  /** Expected wall time of each file, ms (a file missing here weighs `defaultMs`). */
  durations: Readonly<Record<string, number>>;
  defaultMs: number;
  count: number;
  /** Time shard 1 spends before its e2e files (the static checks and unit tests it alone runs). */
  headStartMs?: number;
}

/**
 * Greedy longest-first: each file, heaviest first, goes to the shard with the least
 * expected time so far. Ties are broken by name and by shard index, and all sums are
 * whole milliseconds, so every runner computes the same split from the same record.
 * Within a shard the files keep name order (mocha --sort's).
 */
export function partitionFiles(input: PartitionInput): Shard[] {
  const { count } = input;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count ${count}: give a whole number from 1`);
  const weight = (f: string): number => Math.max(0, Math.round(Object.hasOwn(input.durations, f) ? (input.durations[f] as number) : input.defaultMs));
  const files = [...new Set(input.files)].sort(byName);
  const shards: Shard[] = Array.from({ length: count }, (_, i) => ({ index: i + 1, files: [], expectedMs: i === 0 ? Math.round(input.headStartMs ?? 0) : 0 }));
  const heaviestFirst = files.map((f) => ({ f, ms: weight(f) })).sort((a, b) => b.ms - a.ms || byName(a.f, b.f));
  for (const { f, ms } of heaviestFirst) {
    // The first of the least loaded: lowest index on a tie.
    const least = shards.reduce((best, s) => (s.expectedMs < best.expectedMs ? s : best));
    least.files.push(f);
    least.expectedMs += ms;
  }
  for (const s of shards) s.files.sort(byName);
  return shards;
}

/** Code-unit order, not the locale's: the same on every runner. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { defaultFileMs, durationsFile, durationsFromResults, readDurations, repoRoot, writeDurations, type RunResults, type TestDurations } from '../harness/index';

/**
 * ./lab report RUN --record-durations: RUN's e2e files' times become the weights
 * `./lab test --shard` balances by (fixtures/test-durations.json). Prints them beside
 * the record they replace.
 */
export function recordDurations(results: RunResults): number {
  let previous: TestDurations | undefined;
  try {
    previous = existsSync(durationsFile()) ? readDurations() : undefined;
  } catch {
    // A damaged record is what this replaces.
  }
  const next = durationsFromResults(results, previous);
  writeDurations(next);
  const s = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const names = [...new Set([...Object.keys(next.files), ...Object.keys(previous?.files ?? {})])].sort();
  const width = Math.max(...names.map((n) => n.length), 'checks and unit tests'.length);
  const rows = [
    `${'file'.padEnd(width)}  ${'was s'.padStart(7)}  ${'now s'.padStart(7)}`,
    ...names.map((n) => `${n.padEnd(width)}  ${s(previous?.files[n]).padStart(7)}  ${s(next.files[n]).padStart(7)}`),
    `${'checks and unit tests'.padEnd(width)}  ${s(previous?.checksMs).padStart(7)}  ${s(next.checksMs).padStart(7)}`,
  ];
  process.stdout.write(`${rows.join('\n')}\n\na file not in the record weighs ${s(defaultFileMs(next))} s (the median)\nwrote ${shownRecord()} from run ${next.source.runId}\n`);
  return 0;
}

/** The record's path, repo-relative when it is in the repo. */
function shownRecord(): string {
  const rel = relative(repoRoot(), durationsFile());
  return rel.startsWith('..') ? durationsFile() : rel;
}

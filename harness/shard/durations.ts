import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { HarnessError, SetupError, UsageError } from '../common/errors';
import { schemaCheck } from '../common/json-schema';
import { FIXTURES_DIR, repoRoot } from '../common/paths';
import type { RunResults } from '../results/types';

/**
 * fixtures/test-durations.json: what each end-to-end file took on a recorded run, the
 * weights the shards are balanced by. It is produced from a run's results.json
 * (`./lab report RUN --record-durations`), never edited by hand.
 */
export const DURATIONS_FILE = join(FIXTURES_DIR, 'test-durations.json');

/**
 * The record in use: LTSP_LAB_TEST_DURATIONS names another (scenarios/test-shards.e2e.ts
 * gives its nested runs one that splits its few tests across both shards whatever the
 * repo's record says), else DURATIONS_FILE.
 */
export function durationsFile(): string {
  return process.env.LTSP_LAB_TEST_DURATIONS ? resolve(process.env.LTSP_LAB_TEST_DURATIONS) : DURATIONS_FILE;
}

export interface TestDurations {
  /** Where the numbers come from: the run, its commit and host. */
  source: { runId: string; commit?: string; host: string; recordedAt: string; note?: string };
  /** The static checks and unit tests (shard 1 runs them before its e2e files), ms. */
  checksMs: number;
  /** Each e2e file's wall time, hooks (its lab's start) included, ms; repo-relative paths. */
  files: Record<string, number>;
}

const REFRESH = 'record it again from a whole ./lab test run: ./lab report RUN --record-durations';

/** The recorded durations; a missing or damaged record is a set-up problem (the repo ships one). */
export function readDurations(file = durationsFile()): TestDurations {
  if (!existsSync(file)) throw new SetupError(`no recorded test durations at ${file}: sharding needs them`, { hint: `restore it (git checkout -- ${relative(repoRoot(), file)}) or ${REFRESH}` });
  let d: unknown;
  try {
    d = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SetupError(`${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`, { hint: REFRESH });
  }
  const problems = DURATIONS_SCHEMA.errors(d);
  if (problems.length > 0) throw new SetupError(`${file} is not a test durations record: ${problems.slice(0, 4).join('; ')}`, { hint: REFRESH });
  return d as TestDurations;
}

/** The durations record's JSON Schema (beside this file): what readDurations accepts and writeDurations writes. */
export const DURATIONS_SCHEMA = schemaCheck('harness/shard/durations.schema.json');

/**
 * The weight of a file the record does not know (a new scenario): the median recorded
 * file. Most e2e files start a lab and boot a client, so a new one most likely costs
 * what a typical one does; the mean would let field-faults' five minutes pull it up.
 */
export function defaultFileMs(d: TestDurations): number {
  const ms = Object.values(d.files).sort((a, b) => a - b);
  const mid = Math.floor(ms.length / 2);
  return ms.length % 2 ? (ms[mid] as number) : Math.round(((ms[mid - 1] as number) + (ms[mid] as number)) / 2);
}

/**
 * The record a run's results.json makes: its files' wall times and its checks' time.
 * Only a run of the whole suite will do (unsharded, or the shards merged, and no
 * --grep): a part would record parts of files as whole ones. A run without a checks
 * time (it skipped them) keeps `previous`'s.
 */
export function durationsFromResults(r: RunResults, previous?: TestDurations): TestDurations {
  if (r.kind !== 'test') throw new UsageError(`run ${r.runId} is a ${r.kind} run: durations come from a ./lab test run`);
  if (!r.suiteFiles || r.suiteFiles.length === 0) {
    throw new UsageError(`run ${r.runId} has no per-file times (suiteFiles in results.json): it predates them, or ran no e2e file`, { hint: 'run ./lab test again' });
  }
  if (r.outcome === 'interrupted') throw new UsageError(`run ${r.runId} was interrupted: the files it did not finish have no whole time`, { hint: 'record from a run that finished' });
  if (r.selection?.grep !== undefined) throw new UsageError(`run ${r.runId} ran with --grep '${r.selection.grep}': its files' times are not whole files' times`, { hint: 'record from a run of the whole suite' });
  if (r.selection?.shard) {
    const s = r.selection.shard;
    throw new UsageError(`run ${r.runId} is shard ${s.index}/${s.count}: it holds only its shard's files`, { hint: 'merge the shards first (./lab report --merge DIR...), then record from the merged run' });
  }
  const checksMs = r.selection?.checksMs ?? previous?.checksMs;
  if (checksMs === undefined) throw new UsageError(`run ${r.runId} skipped the static checks and unit tests, and there is no earlier record of their time`, { hint: 'record from a run with the checks' });
  const files: Record<string, number> = {};
  for (const f of [...r.suiteFiles].sort((a, b) => (a.file < b.file ? -1 : 1))) files[f.file] = (files[f.file] ?? 0) + Math.round(f.durationMs);
  // A file of root-level hooks only (golden-image.e2e.ts's after) has no suite to time: mocha
  // does not say which file a root hook came from. It ran, so it is known, and weighs nothing.
  for (const f of r.selection?.files ?? []) files[f] ??= 0;
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const h = r.host;
  return {
    source: { runId: r.runId, ...(r.commit ? { commit: r.commit } : {}), host: `${h.accel}-${h.cores}cpu, speed factor ${h.speedFactor}`, recordedAt: r.finishedAt ?? r.startedAt },
    checksMs: Math.round(checksMs),
    files: sorted,
  };
}

export function writeDurations(d: TestDurations, file = durationsFile()): void {
  const problems = DURATIONS_SCHEMA.errors(d);
  if (problems.length > 0) throw new HarnessError(`the durations record made for ${file} does not match harness/shard/durations.schema.json: ${problems.slice(0, 4).join('; ')}`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(d, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

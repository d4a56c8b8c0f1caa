import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../common/errors';
import { readRunResults, REPORT_FILES } from '../results/results-file';
import { writeRunReport, type WrittenReport } from './run-report';
import type { ClientResult, RunResults, ShardRef, TestResult } from '../results/types';

/*
 * `./lab report --merge DIR...`: the shards of one `./lab test --shard I/N` run, each
 * run on its own runner, made one report again. Each shard's folder is copied in
 * whole (shard-I/), so every log a test points at is still there; results.json,
 * junit.xml and index.html are written afresh by the one report writer. What cannot
 * be one run is refused before anything is written.
 */

export interface MergeInput {
  dir: string;
  results: RunResults;
}

const RUN_FOLDER_HINT = 'give the run folders ./lab test wrote (reports/test-<date>/, one per shard)';

/** Each DIR's results.json; a DIR that is no run folder is a UsageError naming it. */
export function readMergeInputs(dirs: readonly string[]): MergeInput[] {
  if (dirs.length === 0) throw new UsageError('--merge needs the run folders to merge', { hint: RUN_FOLDER_HINT });
  const seen = new Map<string, string>();
  return dirs.map((d) => {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${d} is not a run folder: no such folder`, { hint: RUN_FOLDER_HINT });
    if (!existsSync(join(dir, REPORT_FILES.results))) throw new UsageError(`${d} is not a run folder: it has no ${REPORT_FILES.results}`, { hint: RUN_FOLDER_HINT });
    const twice = seen.get(dir);
    if (twice !== undefined) throw new UsageError(`${d} is given twice (as ${twice} too)`);
    seen.set(dir, d);
    return { dir, results: readRunResults(dir) };
  });
}

const shardName = (s: ShardRef): string => `${s.index}/${s.count}`;

/** A folder as a message shows it: relative when under the current one. */
function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel.startsWith('..') ? dir : rel || '.';
}

/** The folder a part's files go to in the merged report. */
function partPrefix(input: MergeInput, k: number): string {
  const s = input.results.selection?.shard;
  return s ? `shard-${s.index}` : `part-${k + 1}`;
}

/** Refuses runs that are not parts of one run; returns them in shard order. */
function checkParts(inputs: readonly MergeInput[]): MergeInput[] {
  const where = (i: MergeInput): string => shown(i.dir);
  for (const i of inputs) {
    if (i.results.kind !== 'test') throw new UsageError(`${where(i)} is a ${i.results.kind} run: only ./lab test runs are merged`, { hint: RUN_FOLDER_HINT });
  }
  const same = (what: string, value: (r: RunResults) => string | undefined, hint?: string): void => {
    const known = inputs.filter((i) => value(i.results) !== undefined);
    const first = known[0];
    const other = known.find((i) => value(i.results) !== value(first!.results));
    if (first && other) {
      throw new UsageError(`${where(first)} and ${where(other)} are not shards of one run: different ${what} (${value(first.results)} and ${value(other.results)})`, hint === undefined ? {} : { hint });
    }
  };
  same('commits', (r) => r.commit, 'run every shard from the same commit');
  same('images', (r) => (r.images ? JSON.stringify(Object.entries(r.images.keys).sort()) : undefined), 'build the images from the same vm-images/ on every runner');
  same('--grep', (r) => (r.selection ? JSON.stringify(r.selection.grep ?? null) : undefined), 'give every shard the same --grep');
  same('--tier', (r) => (r.selection ? (r.selection.tier ?? 'full') : undefined), 'give every shard the same --tier');
  const sharded = inputs.filter((i) => i.results.selection?.shard);
  if (sharded.length > 0 && sharded.length < inputs.length) {
    const whole = inputs.find((i) => !i.results.selection?.shard)!;
    throw new UsageError(`${where(whole)} is not a shard (no --shard), ${where(sharded[0]!)} is: they are not parts of one run`);
  }
  if (sharded.length === 0) return [...inputs];
  same('shard counts', (r) => String(r.selection?.shard?.count));
  const count = (sharded[0]!.results.selection!.shard as ShardRef).count;
  const byIndex = new Map<number, MergeInput>();
  for (const i of sharded) {
    const s = i.results.selection!.shard as ShardRef;
    const twice = byIndex.get(s.index);
    if (twice) throw new UsageError(`shard ${shardName(s)} is given twice: ${where(twice)} and ${where(i)}`);
    byIndex.set(s.index, i);
  }
  const missing = Array.from({ length: count }, (_, k) => k + 1).filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    throw new UsageError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing: a merge of ${byIndex.size} of ${count} shards would not be the whole run`, { hint: 'give every shard\'s run folder' });
  }
  const ordered = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  // Shards split from the same record hold each file once.
  const fileShard = new Map<string, MergeInput>();
  for (const i of ordered) {
    for (const f of i.results.selection!.files) {
      const other = fileShard.get(f);
      if (other) throw new UsageError(`${f} is in shard ${shardName(other.results.selection!.shard!)} and in shard ${shardName(i.results.selection!.shard!)}: the shards were split from different fixtures/test-durations.json`, { hint: 'run every shard from the same commit' });
      fileShard.set(f, i);
    }
  }
  return ordered;
}

/** The same test in two parts is refused: a merge would count it twice. */
function checkNoOverlap(parts: readonly MergeInput[]): void {
  const owner = new Map<string, MergeInput>();
  for (const p of parts) {
    for (const t of p.results.tests) {
      const other = owner.get(t.id);
      if (other) {
        throw new UsageError(`"${t.title}" is in ${shown(other.dir)} and in ${shown(p.dir)}: merged, it would count twice`, { hint: 'merge the shards of one run, each once' });
      }
      owner.set(t.id, p);
    }
  }
}

function prefixed(prefix: string, p: string | undefined): string | undefined {
  return p === undefined ? undefined : join(prefix, p);
}

function movedClient(prefix: string, c: ClientResult): ClientResult {
  const out = { ...c };
  if (c.consoleLog !== undefined) out.consoleLog = prefixed(prefix, c.consoleLog) as string;
  if (c.qmpLog !== undefined) out.qmpLog = prefixed(prefix, c.qmpLog) as string;
  return out;
}

function movedTest(prefix: string, t: TestResult, shard: ShardRef | undefined): TestResult {
  const out: TestResult = { ...t, id: join(prefix, t.id), clients: t.clients.map((c) => movedClient(prefix, c)) };
  if (t.serverLog !== undefined) out.serverLog = prefixed(prefix, t.serverLog) as string;
  if (shard) out.shard = shard;
  return out;
}

/**
 * One results.json of the parts: every test (its id and log paths under its part's
 * folder, its shard named), counts summed by construction, the first shard's host,
 * images and baseline, and a note per part with its own host and time.
 */
export function mergeRuns(inputs: readonly MergeInput[], runId: string): { results: RunResults; parts: { dir: string; prefix: string }[] } {
  const parts = checkParts(inputs);
  checkNoOverlap(parts);
  const prefixes = parts.map(partPrefix);
  const first = parts[0]!.results;
  const all = parts.map((p) => p.results);
  const tests = parts.flatMap((p, k) => p.results.tests.map((t) => movedTest(prefixes[k] as string, t, p.results.selection?.shard)));
  const failed = tests.some((t) => t.outcome === 'fail');
  const interrupted = all.some((r) => r.outcome === 'interrupted');
  const finished = all.map((r) => r.finishedAt);
  const grep = first.selection?.grep;
  const tier = first.selection?.tier;
  const checks = all.map((r) => r.selection?.checksMs).filter((ms): ms is number => ms !== undefined);
  const results: RunResults = {
    schemaVersion: first.schemaVersion,
    runId,
    kind: 'test',
    title: `./lab test${tier === undefined ? '' : ` --tier ${tier}`}${grep === undefined ? '' : ` --grep '${grep}'`}, ${parts.length} ${first.selection?.shard ? 'shards' : 'runs'} merged`,
    startedAt: all.map((r) => r.startedAt).sort()[0] as string,
    outcome: interrupted ? 'interrupted' : failed ? 'fail' : 'pass',
    exitCode: interrupted ? 130 : failed ? 1 : 0,
    host: first.host,
    notes: [
      ...parts.map((p, k) => {
        const r = p.results;
        const s = r.selection?.shard;
        const secs = r.finishedAt ? ` in ${Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000)} s` : '';
        return `${s ? `shard ${shardName(s)}` : `part ${k + 1}`}: run ${r.runId} (${prefixes[k]}/), ${r.tests.length} tests, ${r.outcome}${secs}; host ${r.host.accel}, ${r.host.cores} cores, speed factor ${r.host.speedFactor}`;
      }),
      ...parts.flatMap((p, k) => (p.results.notes ?? []).map((n) => `${prefixes[k]}: ${n}`)),
    ],
    tests,
  };
  if (!finished.includes(undefined)) results.finishedAt = (finished as string[]).sort().at(-1) as string;
  if (first.images) results.images = first.images;
  if (first.baseline) results.baseline = first.baseline;
  if (first.commit) results.commit = first.commit;
  if (all.some((r) => r.selection)) {
    results.selection = {
      ...(grep === undefined ? {} : { grep }),
      ...(tier === undefined ? {} : { tier }),
      files: [...new Set(all.flatMap((r) => r.selection?.files ?? []))].sort(),
      ...(checks.length ? { checksMs: checks.reduce((a, b) => a + b, 0) } : {}),
    };
  }
  const suiteFiles = all.flatMap((r) => r.suiteFiles ?? []);
  if (suiteFiles.length) results.suiteFiles = suiteFiles;
  return { results, parts: parts.map((p, k) => ({ dir: p.dir, prefix: prefixes[k] as string })) };
}

/** Merges the runs `inputs` into `outDir` (a new or empty folder): the parts copied in, one report written. */
export function writeMergedReport(inputs: readonly MergeInput[], outDir: string, runId: string): { written: WrittenReport; results: RunResults } {
  const out = resolve(outDir);
  const { results, parts } = mergeRuns(inputs, runId);
  // The parts already where the merge would copy them (./lab test's lanes, out/part-N): written around them.
  const inPlace = parts.every((p) => p.dir === join(out, p.prefix));
  if (!inPlace) {
    for (const i of inputs) {
      if (out === i.dir || out.startsWith(i.dir + sep) || i.dir.startsWith(out + sep)) throw new UsageError(`the merged report ${outDir} cannot be in or around ${i.dir}`, { hint: 'give --out a folder of its own' });
    }
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) throw new UsageError(`${outDir} exists and is not an empty folder: a merge writes a report of its own`, { hint: 'give --out a new folder' });
    for (const p of parts) cpSync(p.dir, join(out, p.prefix), { recursive: true, verbatimSymlinks: true });
  } else if (existsSync(join(out, REPORT_FILES.results))) {
    throw new UsageError(`${outDir} holds a report already: its parts were merged`, { hint: 'give --out a new folder' });
  }
  return { written: writeRunReport(out, results), results };
}

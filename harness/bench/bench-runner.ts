import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { RunContext } from '../common/run-context';
import { decideHostSpeed } from '../accel/accel-choice';
import { budgetMs } from '../common/budgets';
import { stepDeadline } from '../common/run-deadline';
import { buildImages } from '../images/image-set';
import { trackStoppable } from '../common/teardown';
import { REPORTS_ROOT } from '../lab/lab';
import { benchResults } from './bench-results';
import { writeRunReport } from '../report/run-report';
import { CaseRun, failureOf, type BenchCase, type BenchContext } from './case-run';
import { chainCase } from './chain-case';
import { clientCase } from './client-case';
import { clientImages } from '../images/image-set';
import { DEFAULT_CLIENT_SPEC } from '../client/client-spec';
import { concurrencyCase } from './concurrency-case';
import { gateBesideCase, gateCase } from './gate-case';
import { benchHost } from './host-load';
import { imagesCase, imagesWarmCase } from './images-case';
import { memoryCase } from './memory-case';
import { overheadCase } from './overhead-case';
import { stormCase } from './storm-case';
import { unionCase } from './union-case';
import type { BenchReport } from './types';

/** Every case, in the order a full bench runs them. */
const CASES: readonly BenchCase[] = [chainCase, clientCase, overheadCase, concurrencyCase, imagesCase, memoryCase, gateCase, gateBesideCase, imagesWarmCase, stormCase, unionCase];

/** Runs of a case when --runs is not given and the case names none of its own. */
export const DEFAULT_BENCH_RUNS = 3;

export const BENCH_CASES: readonly string[] = CASES.map((c) => c.name);
/** What `./lab bench` runs without --case: images-warm is part of images, gate-beside of gate. */
export const DEFAULT_BENCH_CASES: readonly string[] = BENCH_CASES.filter((n) => n !== 'images-warm' && n !== 'gate-beside');

export interface BenchOptions {
  /** Case names, run in the order of BENCH_CASES whatever the order given. */
  cases: readonly string[];
  /** Runs of each case; absent: the case's own default, else DEFAULT_BENCH_RUNS. */
  runs?: number;
  /** One line at a time, as the bench goes. */
  onProgress?: (line: string) => void;
}

function writeJson(file: string, data: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(data, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/**
 * Runs the cases one after the other (never two boots of different cases at once) and
 * writes reports/bench-<runid>/bench.json after each. Numbers never fail it: a run
 * that breaks is recorded in its case and the bench goes on.
 */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const unknown = opts.cases.filter((n) => !BENCH_CASES.includes(n));
  if (unknown.length > 0) throw new UsageError(`unknown bench case '${unknown[0]}'`, { hint: `one of: ${BENCH_CASES.join(', ')}` });
  const selected = CASES.filter((c) => opts.cases.includes(c.name));
  // The state folder of the QEMU the bench starts itself (bare boots): registered, so a
  // crashed bench's are reaped by the next run and a live one's are left alone.
  const run = new RunContext();
  const dir = join(REPORTS_ROOT, `bench-${run.id}`);
  mkdirSync(dir, { recursive: true });
  // The accelerator is chosen by proof with the images' own kernel (a no-op build when warm).
  const manifest = await buildImages({ deadline: stepDeadline(budgetMs('imageBuild'), 'image build before the bench'), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  // The default client kind's kernel, as every lab's probe (an image set without it is a set-up problem, exit 3).
  const probed = clientImages(manifest, DEFAULT_CLIENT_SPEC.kind);
  const speed = await decideHostSpeed({ kernel: probed.kernel, initrd: probed.initrd });
  const report: BenchReport = {
    runId: run.id,
    startedAt: new Date().toISOString(),
    host: benchHost(speed),
    runs: opts.runs ?? DEFAULT_BENCH_RUNS,
    cases: [],
    file: join(dir, 'bench.json'),
  };
  const progress = opts.onProgress ?? (() => undefined);
  const ctx: BenchContext = { runId: run.id, dir, runs: opts.runs ?? DEFAULT_BENCH_RUNS, speed, stateDir: run.stateDir, progress };
  const stoppable = { stop: async () => run.unregister() };
  run.register();
  trackStoppable(stoppable, true);
  try {
    for (const spec of selected) {
      const runs = opts.runs ?? spec.defaultRuns ?? DEFAULT_BENCH_RUNS;
      progress(`bench: ${spec.name}: ${spec.title} (${runs} run${runs === 1 ? '' : 's'})`);
      const c = new CaseRun({ ...ctx, runs }, spec);
      try {
        await spec.run(c);
      } catch (e) {
        c.failures.push(failureOf(0, spec.name, e));
      }
      report.cases.push(c.result());
      writeJson(report.file, report);
      writeRunReport(dir, benchResults(report, dir, speed, manifest));
    }
  } finally {
    run.unregister();
    trackStoppable(stoppable, false);
  }
  report.finishedAt = new Date().toISOString();
  writeJson(report.file, report);
  // results.json, junit.xml and index.html beside bench.json, as every run leaves them.
  writeRunReport(dir, benchResults(report, dir, speed, manifest));
  return report;
}

/** The exit code a bench ends with: 0 unless a run broke, then the first failure's. */
export function benchExitCode(report: BenchReport): number {
  return report.cases.flatMap((c) => c.failures)[0]?.exitCode ?? 0;
}

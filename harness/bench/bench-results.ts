import type { BenchReport, CaseResult } from './types';
import type { HostSpeed } from '../common/speed';
import { finishResults, setImages, startResults } from '../report/lab-results';
import { clientResult } from '../results/run-facts';
import type { ClientTimeline, ErrorFacts, RunResults, TestResult } from '../results/types';

/** Boots a case's page draws at most (a concurrency case boots dozens). */
const MAX_CLIENTS_PER_CASE = 12;

/**
 * A bench run as results.json: a test per case, its lab boots as clients (read from
 * the case's details, where each LabBoot keeps its ClientTimeline), its numbers as
 * `data`. bench.json stays the bench's own full record.
 */
export function benchResults(report: BenchReport, dir: string, speed: HostSpeed, manifest?: Parameters<typeof setImages>[1]): RunResults {
  const results = startResults('bench', `bench-${report.runId}`, `./lab bench (${report.runs} run${report.runs === 1 ? '' : 's'} per case)`, new Date(report.startedAt), speed);
  setImages(results, manifest);
  results.host.loadAvg1 = Math.round(report.host.loadAvg1 * 100) / 100;
  results.tests = report.cases.map((c) => caseResult(c, dir));
  if (report.host.otherQemu > 0) results.notes = [`${report.host.otherQemu} QEMU of other runs were running when the bench started`];
  if (report.finishedAt) {
    const failed = results.tests.find((t) => t.outcome === 'fail');
    finishResults(results, failed ? 'fail' : 'pass', failed?.error?.exitCode ?? 0);
    results.finishedAt = report.finishedAt;
  }
  return results;
}

function caseResult(c: CaseResult, dir: string): TestResult {
  const t: TestResult = {
    id: c.name,
    title: `${c.name}: ${c.title}`,
    outcome: c.failures.length > 0 ? 'fail' : 'pass',
    durationMs: Math.round(c.seconds * 1000),
    clients: timelinesIn(c.details).slice(0, MAX_CLIENTS_PER_CASE).map((tl) => clientResult(tl, dir, c.name)),
    data: { metrics: c.metrics, tables: c.tables, notes: c.notes, failures: c.failures },
  };
  const f = c.failures[0];
  if (f) {
    const kind: ErrorFacts['kind'] = ({ 2: 'usage', 3: 'setup', 4: 'sut', 5: 'harness', 6: 'regression' } as const)[f.exitCode as 2 | 3 | 4 | 5 | 6] ?? 'unknown';
    t.error = { class: f.kind, kind, exitCode: f.exitCode, message: `run ${f.run}, ${f.step}: ${f.message}` };
  }
  return t;
}

const isTimeline = (v: unknown): v is ClientTimeline => {
  const o = v as Partial<ClientTimeline> | null;
  return typeof o === 'object' && o !== null && typeof o.client === 'string' && typeof o.ok === 'boolean' && Array.isArray(o.stages);
};

/** ClientTimelines anywhere in a case's details (a few levels deep), in order. */
function timelinesIn(details: unknown, depth = 4): ClientTimeline[] {
  if (depth < 0 || details === null || typeof details !== 'object') return [];
  if (isTimeline(details)) return [details];
  const values = Array.isArray(details) ? details : Object.values(details);
  return values.flatMap((v) => timelinesIn(v, depth - 1));
}

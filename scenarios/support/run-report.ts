import { basename, join, relative } from 'node:path';
import {
  errorFacts,
  repoRoot,
  sourceCommit,
  LogSlicer,
  startedClientResult,
  TestRunReport,
  type ClientResult,
  type StartedLab,
  type StartedThinClient,
  type TestResult,
} from '../../harness/index';
import { slug, suiteReportPath, testReportDir, testRunDir, testSelection } from './report-dir';

/*
 * The results of a `./lab test` run (reports/<run>/results.json, junit.xml,
 * index.html): one result per test, and one per hook that failed (a suite's boot in
 * its `before` is a hook). Each gets its own slice of the console, QMP and server logs
 * of the lab it shares with its suite, and the boots that happened in it.
 */

const labs: StartedLab[] = [];
const clients: { client: StartedThinClient; seen: string }[] = [];
const testData = new Map<string, Record<string, unknown[]>>();

/** A lab a suite started: its host facts and images go into the run's results. */
export function noteLab(lab: StartedLab): void {
  labs.push(lab);
  report?.noteLab(lab);
}

/** Report folders of labs a suite uses but did not start (the core lab, support/core-lab.ts). */
const sharedDirs = new Map<Mocha.Suite, Set<string>>();

/** `suite`'s tests get their slices of the logs under `dir` too (a lab it shares). */
export function noteSuiteLab(suite: Mocha.Suite, dir: string): void {
  const dirs = sharedDirs.get(suite) ?? new Set<string>();
  sharedDirs.set(suite, dirs.add(dir));
}

/** A client a test started: each of its boots is reported with the test or hook it happened in. */
export function noteClient(client: StartedThinClient, _lab: StartedLab): void {
  clients.push({ client, seen: '' });
}

/** Extra numbers of a test (its report folder names it), kept as its `data` in results.json. */
export function recordTestData(testDir: string, key: string, value: unknown): void {
  const data = testData.get(testDir) ?? {};
  (data[key] ??= []).push(value);
  testData.set(testDir, data);
}

let report: TestRunReport | undefined;

/** Suites from the test's own up to the root's first child: where their labs write, and the labs they share. */
function suiteDirs(r: Mocha.Runnable): string[] {
  const out: string[] = [];
  for (let s = r.parent; s && !s.root; s = s.parent) out.push(suiteReportPath(s), ...(sharedDirs.get(s) ?? []));
  return out;
}

function hookDir(hook: Mocha.Hook): string {
  const dir = join(suiteReportPath(hook.parent as Mocha.Suite), slug(hook.title.replace(/ for ".*"$/, '')));
  return dir;
}

/** Subscribes to the runner (mochaGlobalSetup, where `this` is the runner); writes after every test and at the end. */
export function attachRunReport(runner: Mocha.Runner): void {
  const runDir = testRunDir();
  const selection = testSelection();
  report = new TestRunReport(runDir, basename(runDir), `./lab test${selection?.tier === undefined ? '' : ` --tier ${selection.tier}`}${selection?.grep === undefined ? '' : ` --grep '${selection.grep}'`}${selection?.shard ? ` --shard ${selection.shard.index}/${selection.shard.count}` : ''}`);
  report.select(selection, sourceCommit());
  for (const lab of labs) report.noteLab(lab);
  const root = repoRoot();
  const specFile = (r: Mocha.Runnable | Mocha.Suite): string | undefined => (r.file === undefined ? undefined : relative(root, r.file));
  const slicer = new LogSlicer();
  const started = new Map<Mocha.Runnable, number>();
  const errors = new Map<Mocha.Runnable, unknown>();
  let current: Mocha.Runnable | undefined;

  // The report must never break the run it reports on: a failure to write it is said, once per test.
  const record = (r: Mocha.Runnable, outcome: TestResult['outcome'], dir: string, id: string): void => {
    try {
      recordTest(r, outcome, dir, id);
    } catch (e) {
      process.stderr.write(`\n  run report: could not record "${r.fullTitle()}": ${e instanceof Error ? e.message.split('\n', 1)[0] : String(e)}\n`);
    }
  };

  const recordTest = (r: Mocha.Runnable, outcome: TestResult['outcome'], dir: string, id: string): void => {
    const prefix = relative(runDir, dir);
    const copied = new Set<string>();
    for (const src of new Set(suiteDirs(r))) for (const rel of slicer.cut(src, dir)) copied.add(rel);
    const boots: ClientResult[] = [];
    for (const entry of clients) {
      // A boot (its marks changed), or a client that failed before its first mark.
      const seen = JSON.stringify(entry.client.timeline);
      const booted = seen !== entry.seen && entry.client.timeline.length > 0;
      const failedEarly = entry.client.timeline.length === 0 && entry.seen === '' && copied.has(join(entry.client.name, 'console.log'));
      if (!booted && !failedEarly) continue;
      entry.seen = seen;
      boots.push(startedClientResult(entry.client, runDir, prefix));
    }
    const t0 = started.get(r);
    const result: TestResult = {
      id,
      title: r.fullTitle(),
      outcome,
      durationMs: Math.round(r.duration ?? (t0 === undefined ? 0 : performance.now() - t0)),
      clients: boots,
    };
    const file = specFile(r);
    if (file !== undefined) result.file = file;
    const err = errors.get(r);
    if (err !== undefined) result.error = errorFacts(err);
    if (copied.has('server.log')) result.serverLog = join(prefix, 'server.log');
    const data = testData.get(dir);
    if (data) result.data = data;
    report?.add(result);
    report?.write();
  };

  // Each file's wall time, its hooks (a suite's lab start) included: what shards are balanced by.
  const suiteStarted = new Map<Mocha.Suite, number>();
  runner.on('suite', (s: Mocha.Suite) => {
    if (s.parent?.root) suiteStarted.set(s, performance.now());
  });
  runner.on('suite end', (s: Mocha.Suite) => {
    // What a shared lab's logs got in the suite's after hooks (its clients stopping) is the suite's, not the next test's.
    for (const dir of sharedDirs.get(s) ?? []) {
      try {
        slicer.cut(dir, suiteReportPath(s));
      } catch (e) {
        process.stderr.write(`\n  run report: could not cut the logs of "${s.fullTitle()}": ${e instanceof Error ? e.message.split('\n', 1)[0] : String(e)}\n`);
      }
    }
    const t0 = suiteStarted.get(s);
    const file = specFile(s);
    if (t0 === undefined || file === undefined) return;
    report?.addFileTime(file, performance.now() - t0);
    report?.write();
  });
  runner.on('test', (t: Mocha.Test) => {
    current = t;
    started.set(t, performance.now());
  });
  runner.on('hook', (h: Mocha.Hook) => started.set(h, performance.now()));
  runner.on('fail', (r: Mocha.Runnable, err: unknown) => {
    errors.set(r, err);
    if ((r as { type?: string }).type === 'hook') {
      const dir = hookDir(r as Mocha.Hook);
      record(r, 'fail', dir, relative(runDir, dir));
    }
  });
  runner.on('test end', (t: Mocha.Test) => {
    current = undefined;
    const dir = testReportDir(t);
    record(t, t.state === 'failed' ? 'fail' : t.isPending() ? 'skipped' : 'pass', dir, relative(runDir, dir));
  });
  runner.on('pending', (t: Mocha.Test) => {
    const id = relative(runDir, join(suiteReportPath(t.parent as Mocha.Suite), slug(t.title)));
    const file = specFile(t);
    report?.add({ id, title: t.fullTitle(), outcome: 'skipped', durationMs: 0, clients: [], ...(file === undefined ? {} : { file }) });
  });
  runner.once('end', () => {
    try {
      const written = report?.write('done');
      if (written) process.stderr.write(`\n  run report: ${relative(process.cwd(), written.html)}\n`);
    } catch (e) {
      process.stderr.write(`\n  run report: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  // Ctrl-C (the signal teardown exits) or a crash: what ran so far, and the test that was running, as interrupted.
  process.once('exit', () => {
    if (current) {
      const dir = testReportDir(current);
      record(current, 'interrupted', dir, relative(runDir, dir));
    }
    try {
      report?.write('interrupted');
    } catch {
      // Exiting: nothing more to do about it.
    }
  });
}

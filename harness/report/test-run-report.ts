import type { HostSpeed } from '../common/speed';
import { finishResults, setImages, setSpeed, startResults } from './lab-results';
import type { ClientSpec } from '../client/client-spec';
import { writeRunReport, type WrittenReport } from './run-report';
import type { RunResults, TestResult, TestSelection } from '../results/types';

/**
 * The report of a `./lab test` run, one test at a time: written after every test, so
 * a run that dies still leaves what it did, and finished (or marked interrupted) at
 * the end. Host facts and images come from the first lab a test starts.
 */
export class TestRunReport {
  readonly results: RunResults;
  private hostKnown = false;
  private finished = false;

  constructor(
    readonly dir: string,
    runId: string,
    title: string,
    startedAt = new Date(),
  ) {
    this.results = startResults('test', runId, title, startedAt);
  }

  /** The first lab's host speed and images (later labs run on the same host and images). */
  noteLab(lab: { speed: HostSpeed; manifest?: Parameters<typeof setImages>[1]; defaultClient?: ClientSpec }): void {
    if (this.hostKnown) return;
    this.hostKnown = true;
    setSpeed(this.results, lab.speed, lab.defaultClient);
    setImages(this.results, lab.manifest);
  }

  /** What the run was asked to run (./lab test's plan), and the commit it ran. */
  select(selection: TestSelection | undefined, commit: string | undefined): void {
    if (selection) this.results.selection = selection;
    if (commit) this.results.commit = commit;
  }

  /** An e2e file's suite took `ms` (a file with several top-level suites adds up). */
  addFileTime(file: string, ms: number): void {
    const times = (this.results.suiteFiles ??= []);
    const known = times.find((f) => f.file === file);
    if (known) known.durationMs += Math.round(ms);
    else times.push({ file, durationMs: Math.round(ms) });
  }

  add(test: TestResult): void {
    // A test retried or re-run keeps its latest result.
    this.results.tests = this.results.tests.filter((t) => t.id !== test.id);
    this.results.tests.push(test);
  }

  /** Writes the report so far; `end` finishes it (outcome, exit code, finish time). */
  write(end?: 'done' | 'interrupted'): WrittenReport | undefined {
    if (this.finished) return undefined;
    if (end) {
      this.finished = true;
      const failed = this.results.tests.some((t) => t.outcome === 'fail');
      const outcome = end === 'interrupted' ? 'interrupted' : failed ? 'fail' : 'pass';
      finishResults(this.results, outcome, end === 'interrupted' ? 130 : failed ? 1 : 0);
    }
    return writeRunReport(this.dir, this.results);
  }
}

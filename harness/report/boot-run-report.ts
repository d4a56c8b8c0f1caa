import { basename } from 'node:path';
import type { StartedThinClient } from '../boot/thin-client';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import { exitCodeOf } from '../common/errors';
import { trackStoppable, type Stoppable } from '../common/teardown';
import type { StartedLab } from '../lab/lab';
import { finishResults, setImages, setSpeed, startResults, startedClientResult } from './lab-results';
import { writeRunReport, type WrittenReport } from './run-report';
import { errorFacts } from '../results/run-facts';
import type { RunResults } from '../results/types';

/**
 * The report of one `./lab boot`: made as the run starts, written when it ends however
 * it ends. A run that fails (the lab does not start, a client fails a stage) writes it
 * with the error; a run stopped by SIGINT or SIGTERM writes it, as interrupted, while
 * the signal teardown stops the lab. The gate may set `results.gate` before write().
 */
export class BootRunReport {
  readonly results: RunResults;
  private lab?: StartedLab;
  private signal?: NodeJS.Signals;
  private readonly t0 = performance.now();
  private readonly onInterrupt: Stoppable;
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.signal ??= sig;
  };

  constructor(
    readonly dir: string,
    title: string,
    private readonly clients: () => readonly StartedThinClient[],
    startedAt = new Date(),
  ) {
    this.results = startResults('boot', basename(dir), title, startedAt);
    // Teardown calls stop() from its own signal handler; the report is written a tick
    // later, once this class's handler has recorded which signal it was.
    this.onInterrupt = { stop: async () => {
      await new Promise((r) => setImmediate(r));
      if (!this.done) await this.write(undefined, true);
    } };
    trackStoppable(this.onInterrupt, true);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  private done = false;

  /** The lab started: its host speed, images and baseline. */
  attachLab(lab: StartedLab): void {
    this.lab = lab;
    setSpeed(this.results, lab.speed, lab.defaultClient);
    setImages(this.results, lab.manifest);
  }

  /**
   * Waits (a few seconds at most) until each client's console log holds every line its
   * console has seen: the report reads the logs while the guests still run, and the line
   * that failed a boot is often the last one received.
   */
  private async consolesSynced(): Promise<void> {
    const d = Deadline.after(budgetMs('logSync'), 'console logs written out');
    await Promise.allSettled(this.clients().map((c) => c.console.synced(d)));
  }

  /** Writes results.json, junit.xml and index.html; `failed` is what ended the run, if anything. */
  async write(failed?: unknown, interrupted = false): Promise<WrittenReport> {
    this.done = true; // a signal while the logs are written out is seen below (this.signal)
    await this.consolesSynced();
    // A boot that fails because the teardown of a signal stopped it was interrupted.
    interrupted ||= this.signal !== undefined;
    const clients = this.clients().map((c) => startedClientResult(c, this.dir));
    const outcome = interrupted ? 'interrupted' : failed === undefined && clients.every((c) => c.ok) ? 'pass' : 'fail';
    const exitCode = interrupted ? (this.signal === 'SIGTERM' ? 143 : 130) : failed === undefined ? 0 : exitCodeOf(failed);
    const test: RunResults['tests'][number] = { id: '.', title: 'boot', outcome, durationMs: Math.round(performance.now() - this.t0), clients };
    if (failed !== undefined) test.error = errorFacts(failed);
    if (interrupted) test.error = { class: 'Interrupted', kind: 'unknown', exitCode, message: `interrupted by ${this.signal ?? 'a signal'}` };
    if (this.lab) test.serverLog = 'server.log';
    this.results.tests = [test];
    finishResults(this.results, outcome, exitCode);
    return writeRunReport(this.dir, this.results);
  }

  /** The run is over (its report written): stop listening for signals. */
  close(): void {
    trackStoppable(this.onInterrupt, false);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

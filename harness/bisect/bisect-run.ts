import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf } from '../common/errors';
import { RunContext } from '../common/run-context';
import { stepDeadline } from '../common/run-deadline';
import { teardownSignal, trackStoppable } from '../common/teardown';
import { checkWritableDir, ensureWritableDir } from '../common/writable-dir';
import { bisect, type BisectOutcome } from './bisect-search';
import { formatOutcome, formatSteps } from './bisect-summary';
import { describeCriterion } from './criterion';
import { StackHistory, type Commit } from './git-history';
import { RevisionJudge, type RevisionBoot, type RevisionResult } from './revision-judge';
import { budgetMs } from '../common/budgets';

export interface BisectRunOptions {
  /** The repository whose vm-images/ history is walked. */
  repo: string;
  good: string;
  bad: string;
  boot: RevisionBoot;
  /** reports/bisect-<run>/ */
  reportDir: string;
  run: RunContext;
  progress: (line: string) => void;
}

export interface BisectRun {
  outcome: BisectOutcome<RevisionResult>;
  results: RevisionResult[];
  /** What summary.txt holds: the steps, then the outcome with both timelines. */
  summary: string;
  summaryFile: string;
}

/** Checks GOOD and BAD as commits of the repository, and finds the candidates: UsageErrors before anything is built. */
export async function bisectRange(repo: string, goodRev: string, badRev: string): Promise<{ history: StackHistory; good: Commit; bad: Commit; candidates: Commit[] }> {
  const d = stepDeadline(budgetMs('gitHistory'), 'read the git history');
  const history = new StackHistory(repo);
  await history.check(d);
  const good = await history.commit(goodRev, d);
  const bad = await history.commit(badRev, d);
  const candidates = await history.candidates(good, bad, d);
  return { history, good, bad, candidates };
}

/**
 * `./lab bisect`: the range checked, GOOD and BAD judged, the candidates halved; each
 * judged revision's boot report under `reportDir`, and summary.txt and bisect.json there.
 * The checkouts live in the run's state folder, removed after each step, and with the
 * folder at the end or on a signal (./lab clean reaps it after a SIGKILL).
 */
export async function runBisect(opts: BisectRunOptions): Promise<BisectRun> {
  const { history, good, bad, candidates } = await bisectRange(opts.repo, opts.good, opts.bad);
  // Made when the first revision's lab, or the summary, has something to put in it.
  checkWritableDir(opts.reportDir, 'report folder');
  const commits = new Map<string, Commit>([good, bad, ...candidates].map((c) => [c.hash, c]));
  opts.progress(`bisect: ${candidates.length} commit(s) change vm-images/ after ${good.short} up to ${bad.short}; about ${Math.ceil(Math.log2(candidates.length + 1))} step(s) after checking both ends; ${describeCriterion(opts.boot.criterion)}`);
  const judge = new RevisionJudge({ history, boot: opts.boot, run: opts.run, reportDir: opts.reportDir, progress: opts.progress });
  const checkouts = { stop: async () => opts.run.unregister() };
  opts.run.register();
  trackStoppable(checkouts, true);
  let outcome: BisectOutcome<RevisionResult> | undefined;
  let stopped: unknown;
  try {
    outcome = await bisect({ good: good.hash, bad: bad.hash, candidates: candidates.map((c) => c.hash) }, judge.oracle, (step, left) => {
      if (step.role === 'step') opts.progress(`bisect:   about ${left} step(s) left`);
    });
  } catch (e) {
    stopped = e;
  } finally {
    trackStoppable(checkouts, false);
    opts.run.unregister();
  }
  const lines = [`./lab bisect ${good.short}..${bad.short} in ${opts.repo}: ${describeCriterion(opts.boot.criterion)}`, '', formatSteps(judge.results), ''];
  if (outcome) lines.push(formatOutcome(outcome, judge.results, (h) => commits.get(h)));
  // A Ctrl-C stops the step under way; what that step then says is no verdict and no breakage.
  const signal = teardownSignal();
  const why = signal ? `stopped by ${signal}` : 'the harness broke';
  if (!outcome) lines.push(`stopped: ${why}, which is not a verdict: ${stopped instanceof Error ? stopped.message.split('\n')[0] : String(stopped)}`);
  const summary = lines.join('\n');
  const summaryFile = join(opts.reportDir, 'summary.txt');
  ensureWritableDir(opts.reportDir, 'report folder');
  writeFileSync(summaryFile, `${summary}\n`);
  writeFileSync(join(opts.reportDir, 'bisect.json'), `${JSON.stringify({ repo: opts.repo, good, bad, candidates, criterion: opts.boot.criterion, outcome: outcome ? { ...outcome, steps: undefined } : undefined, stopped: stopped === undefined ? undefined : { class: stopped instanceof Error ? stopped.name : 'unknown', exitCode: exitCodeOf(stopped), message: stopped instanceof Error ? stopped.message : String(stopped) }, revisions: judge.results }, null, 2)}\n`);
  if (!outcome) {
    const at = judge.results.length;
    opts.progress(`bisect: stopped after ${at} judged revision(s): ${why}, which is not a verdict (${summaryFile} has the steps so far)`);
    throw stopped;
  }
  return { outcome, results: judge.results, summary, summaryFile };
}

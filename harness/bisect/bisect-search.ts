/**
 * The search of `./lab bisect`, free of git, images and QEMU: a list of commits and an
 * oracle that judges one. Like git-bisect(1): GOOD and BAD are judged first, then the
 * candidates between them (the commits that touch vm-images/, oldest first; the last
 * one's vm-images/ is BAD's) are halved until one bad commit has a good one before it.
 * A skipped commit (it could not be judged) is stepped round, as `git bisect skip` does.
 */

export type Verdict = 'good' | 'bad' | 'skip';

/** What the oracle says of one revision; `detail` is kept for the caller's report. */
export interface Judged<D = unknown> {
  verdict: Verdict;
  detail?: D;
}

export type Oracle<D> = (rev: string, role: StepRole) => Promise<Judged<D>>;

/** Why a revision is judged: the two ends are checked before the search. */
export type StepRole = 'good-end' | 'bad-end' | 'step';

export interface BisectInput {
  good: string;
  bad: string;
  /** Commits after GOOD up to BAD that touch vm-images/, oldest first; the last has BAD's vm-images/. */
  candidates: readonly string[];
}

export interface BisectStep<D> {
  rev: string;
  role: StepRole;
  judged: Judged<D>;
}

export type BisectOutcome<D> =
  | { kind: 'found'; firstBad: string; lastGood: string; steps: BisectStep<D>[] }
  /** An end is not what the caller said (or could not be judged): no search was made. */
  | { kind: 'good-is-bad' | 'bad-is-good' | 'end-skipped'; rev: string; steps: BisectStep<D>[] }
  /** Only skipped commits are left between the last good and the first bad: any of `suspects` may be it. */
  | { kind: 'undecided'; lastGood: string; suspects: string[]; steps: BisectStep<D>[] };

/** The next candidate to judge, or the answer, from the verdicts so far (indices into the candidates). */
export type NextStep = { kind: 'judge'; index: number } | { kind: 'found'; index: number } | { kind: 'undecided'; from: number; to: number };

/**
 * Pure: with n candidates whose last is known bad, and the verdicts so far, which one to
 * judge next. `lo` is the newest good below the oldest bad (-1: GOOD itself); among the
 * unjudged candidates strictly between, the one nearest the middle, so a skip costs one
 * more step, not the halving.
 */
export function nextStep(n: number, verdicts: ReadonlyMap<number, Verdict>): NextStep {
  const { lo, hi } = bounds(n, verdicts);
  const open: number[] = [];
  for (let i = lo + 1; i < hi; i++) if (!verdicts.has(i)) open.push(i);
  if (open.length === 0) {
    return hi - lo === 1 ? { kind: 'found', index: hi } : { kind: 'undecided', from: lo + 1, to: hi };
  }
  const mid = (lo + hi) / 2;
  const index = open.reduce((best, i) => (Math.abs(i - mid) < Math.abs(best - mid) ? i : best));
  return { kind: 'judge', index };
}

/** About how many more judgements the search needs: the halvings of what is left. */
export function stepsLeft(n: number, verdicts: ReadonlyMap<number, Verdict>): number {
  if (nextStep(n, verdicts).kind !== 'judge') return 0;
  const { lo, hi } = bounds(n, verdicts);
  return Math.ceil(Math.log2(hi - lo));
}

/** The oldest bad candidate (the last one by default) and the newest good one below it (-1: GOOD). */
function bounds(n: number, verdicts: ReadonlyMap<number, Verdict>): { lo: number; hi: number } {
  let hi = n - 1;
  for (const [i, v] of verdicts) if (v === 'bad' && i < hi) hi = i;
  let lo = -1;
  for (const [i, v] of verdicts) if (v === 'good' && i < hi && i > lo) lo = i;
  return { lo, hi };
}

/**
 * Checks GOOD and BAD, then halves the candidates. Stops at the first end that is not
 * what it was said to be; the oracle's errors (the harness broke) propagate: they are
 * not verdicts.
 */
export async function bisect<D>(input: BisectInput, oracle: Oracle<D>, onStep?: (step: BisectStep<D>, left: number) => void): Promise<BisectOutcome<D>> {
  const steps: BisectStep<D>[] = [];
  const verdicts = new Map<number, Verdict>();
  const n = input.candidates.length;
  if (n === 0) throw new RangeError('bisect needs at least one candidate commit between GOOD and BAD');
  const judge = async (rev: string, role: StepRole, index?: number): Promise<Judged<D>> => {
    const judged = await oracle(rev, role);
    const step = { rev, role, judged };
    steps.push(step);
    if (index !== undefined) verdicts.set(index, judged.verdict);
    onStep?.(step, role === 'step' ? stepsLeft(n, verdicts) : 0);
    return judged;
  };

  const good = await judge(input.good, 'good-end');
  if (good.verdict === 'bad') return { kind: 'good-is-bad', rev: input.good, steps };
  if (good.verdict === 'skip') return { kind: 'end-skipped', rev: input.good, steps };
  const bad = await judge(input.bad, 'bad-end');
  if (bad.verdict === 'good') return { kind: 'bad-is-good', rev: input.bad, steps };
  if (bad.verdict === 'skip') return { kind: 'end-skipped', rev: input.bad, steps };
  // The newest candidate's vm-images/ is BAD's: it is bad too (only vm-images/ is booted).
  verdicts.set(n - 1, 'bad');

  for (;;) {
    const next = nextStep(n, verdicts);
    if (next.kind === 'found') {
      return { kind: 'found', firstBad: input.candidates[next.index] as string, lastGood: lastGoodOf(input, verdicts, next.index), steps };
    }
    if (next.kind === 'undecided') {
      return { kind: 'undecided', lastGood: lastGoodOf(input, verdicts, next.from), suspects: input.candidates.slice(next.from, next.to + 1), steps };
    }
    await judge(input.candidates[next.index] as string, 'step', next.index);
  }
}

/** The newest commit before `index` judged good, or GOOD. */
function lastGoodOf(input: BisectInput, verdicts: ReadonlyMap<number, Verdict>, index: number): string {
  for (let i = index - 1; i >= 0; i--) if (verdicts.get(i) === 'good') return input.candidates[i] as string;
  return input.good;
}

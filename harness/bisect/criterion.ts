import type { ClientTimeline, GateVerdict } from '../results/types';
import { firstLine } from '../report/stage-matrix';
import type { Verdict } from './bisect-search';

/**
 * What makes a revision bad, one of:
 *  - boot: a client does not reach the login prompt (a SutError: BootStageError & co.);
 *  - stage: a client does not reach `stage` (its boot is followed no further), or, with
 *    `budgetS`, the stage takes longer than that since the stage before it (the +Δ
 *    column of the timeline, this host's wall-clock seconds);
 *  - gate: the regression gate (harness/gate) calls the boot a regression against this
 *    host's baseline, as `./lab boot --compare` does; inconclusive is a skip.
 * A harness error is never a verdict: the caller stops.
 */
export type Criterion = { kind: 'boot' } | { kind: 'stage'; stage: string; budgetS?: number } | { kind: 'gate' };

export interface Judgement {
  verdict: Verdict;
  /** One line: why. */
  reason: string;
}

/** The stage the boots are followed to: login, or the criterion's stage. */
export function followUpTo(c: Criterion): string {
  return c.kind === 'stage' ? c.stage : 'login';
}

/** How the criterion reads in a progress line. */
export function describeCriterion(c: Criterion): string {
  switch (c.kind) {
    case 'boot':
      return 'bad = a client does not reach the login prompt';
    case 'stage':
      return c.budgetS === undefined ? `bad = a client does not reach stage ${c.stage}` : `bad = a client does not reach stage ${c.stage}, or it takes more than ${c.budgetS} s (+Δ)`;
    case 'gate':
      return 'bad = the regression gate calls the boot slower than this host\'s baseline';
  }
}

/**
 * Pure: a revision's verdict from its clients' timelines, followed up to followUpTo(c).
 * `failure` is the SutError that ended a boot, if one did (its first line is the reason).
 */
export function judgeTimelines(c: Criterion, timelines: readonly ClientTimeline[], failure?: Error): Judgement {
  const upTo = followUpTo(c);
  for (const tl of timelines) {
    if (!tl.stages.some((s) => s.stage === upTo)) {
      const why = tl.failedStage ? `failed at ${tl.failedStage}${tl.error ? `: ${evidence(tl.error)}` : ''}` : failure ? firstLine(failure.message) : 'its boot ended without it';
      return { verdict: 'bad', reason: `${tl.client} did not reach ${upTo} (${why})` };
    }
  }
  if (failure) return { verdict: 'bad', reason: firstLine(failure.message) };
  if (timelines.length === 0) return { verdict: 'bad', reason: 'no client booted' };
  if (c.kind === 'stage' && c.budgetS !== undefined) {
    for (const tl of timelines) {
      const d = stageDeltaMs(tl, c.stage);
      if (d !== undefined && d > c.budgetS * 1000) return { verdict: 'bad', reason: `${tl.client}: ${c.stage} took ${(d / 1000).toFixed(1)} s (+Δ), over the ${c.budgetS} s budget` };
    }
    const worst = Math.max(...timelines.map((tl) => stageDeltaMs(tl, c.stage) ?? 0));
    return { verdict: 'good', reason: `${c.stage} within ${(worst / 1000).toFixed(1)} s (+Δ) of the ${c.budgetS} s budget` };
  }
  return { verdict: 'good', reason: `${timelines.length === 1 ? 'the client' : `all ${timelines.length} clients`} reached ${upTo}` };
}

/** The gate's verdict as bisect's: a regression is bad, a pass good, inconclusive (the host to blame) a skip. */
export function judgeGate(v: GateVerdict): Judgement {
  const verdict: Verdict = v.verdict === 'regression' ? 'bad' : v.verdict === 'pass' ? 'good' : 'skip';
  return { verdict, reason: `gate ${v.verdict}: ${firstLine(v.reason)}` };
}

/**
 * What a boot error says in one line: the console line that failed it when the error
 * quotes one (a failure pattern's match, its kernel timestamp dropped), else its first line.
 */
function evidence(error: string): string {
  const head = error.split('\n')[0] ?? '';
  const quoted = /failure pattern '([^']+)' seen .*: "(?:\[\s*[\d.]+\]\s*)?(.*)"$/.exec(head);
  return quoted ? `${quoted[1]}: ${firstLine(quoted[2] as string)}` : firstLine(head);
}

/** A stage's time since the stage before it (the first: since QEMU start), ms. */
export function stageDeltaMs(tl: ClientTimeline, stage: string): number | undefined {
  const i = tl.stages.findIndex((s) => s.stage === stage);
  if (i < 0) return undefined;
  return (tl.stages[i] as { t: number }).t - (i === 0 ? 0 : (tl.stages[i - 1] as { t: number }).t);
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatReportDiff } from '../report/run-diff';
import { readRunResults, REPORT_FILES } from '../results/results-file';
import { formatTimelineTable } from '../report/timeline-table';
import type { ClientTimeline } from '../results/types';
import type { BisectOutcome } from './bisect-search';
import type { Commit } from './git-history';
import type { RevisionResult } from './revision-judge';

/** The revision whose boot stands behind a commit's verdict: its own, or the one with the same images. */
export function evidenceOf(results: readonly RevisionResult[], hash: string): RevisionResult | undefined {
  const r = results.find((x) => x.commit.hash === hash);
  if (!r?.reusedFrom) return r;
  return results.find((x) => x.commit.hash === r.reusedFrom!.hash && !x.reusedFrom);
}

/** One line per judged revision: what it was, how its images came, its verdict and why. */
export function formatSteps(results: readonly RevisionResult[]): string {
  const rows = results.map((r, i) => {
    const what = i === 0 ? 'GOOD' : i === 1 ? 'BAD' : `step ${i - 1}`;
    const how = r.reusedFrom ? `same images as ${r.reusedFrom.short}: verdict reused` : r.build ? `images ${r.build.seconds.toFixed(0)} s, boot ${(r.bootSeconds ?? 0).toFixed(0)} s` : 'no boot';
    return [what, r.commit.short, r.judgement.verdict.toUpperCase(), how, r.commit.subject, r.judgement.reason];
  });
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  return rows.map((r) => `${r.slice(0, 4).map((c, i) => c.padEnd(widths[i] as number)).join('  ')}  ${r[4]}\n${' '.repeat(6)}${r[5]}`).join('\n');
}

/** A timeline under another client name, so that two revisions' boots share one table. */
function renamed(tl: ClientTimeline, name: string): ClientTimeline {
  return { ...tl, client: name };
}

/**
 * The end of a bisect, for the terminal and summary.txt: the first bad commit (hash and
 * subject), then the last good and the first bad revision's boot timelines side by side
 * and their per-stage differences (`./lab report --against`'s table).
 */
export function formatOutcome(outcome: BisectOutcome<RevisionResult>, results: readonly RevisionResult[], commit: (hash: string) => Commit | undefined): string {
  const name = (hash: string): string => {
    const c = commit(hash);
    return c ? `${c.hash} ${c.subject}` : hash;
  };
  switch (outcome.kind) {
    case 'good-is-bad':
      return `GOOD ${name(outcome.rev)} is bad: ${results[0]?.judgement.reason ?? ''}`;
    case 'bad-is-good':
      return `BAD ${name(outcome.rev)} is good: ${results[1]?.judgement.reason ?? ''}`;
    case 'end-skipped':
      return `${name(outcome.rev)} could not be judged: ${results.find((r) => r.commit.hash === outcome.rev)?.judgement.reason ?? ''}`;
    case 'undecided':
      return [`only skipped commits are left: the first bad commit is one of`, ...outcome.suspects.map((h) => `  ${name(h)}`), `(the last good: ${name(outcome.lastGood)})`].join('\n');
    case 'found':
      break;
  }
  const out = [`first bad commit: ${name(outcome.firstBad)}`, `last good commit: ${name(outcome.lastGood)}`];
  const good = evidenceOf(results, outcome.lastGood);
  // The newest candidate stands for BAD: BAD's boot is its evidence when it was not judged itself.
  const bad = evidenceOf(results, outcome.firstBad) ?? evidenceOf(results, results[1]?.commit.hash ?? '');
  if (good?.timelines && bad?.timelines) {
    const g = commit(outcome.lastGood)?.short ?? outcome.lastGood.slice(0, 7);
    const b = commit(outcome.firstBad)?.short ?? outcome.firstBad.slice(0, 7);
    const side = [...good.timelines.map((t) => renamed(t, `good ${g}${good.timelines!.length > 1 ? ` ${t.client}` : ''}`)), ...bad.timelines.map((t) => renamed(t, `bad ${b}${bad.timelines!.length > 1 ? ` ${t.client}` : ''}`))];
    out.push('', formatTimelineTable(side));
    if (good.commit.hash !== outcome.lastGood || bad.commit.hash !== outcome.firstBad) {
      out.push(`(booted as ${good.commit.short} and ${bad.commit.short}: the same images)`);
    }
  }
  if (good?.reportDir && bad?.reportDir && existsSync(join(good.reportDir, REPORT_FILES.results)) && existsSync(join(bad.reportDir, REPORT_FILES.results))) {
    out.push('', formatReportDiff(readRunResults(bad.reportDir), readRunResults(good.reportDir)));
  }
  return out.join('\n');
}

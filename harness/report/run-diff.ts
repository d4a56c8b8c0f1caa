import { deltaSeconds, seconds } from './stage-matrix';
import type { ClientResult, RunResults, TestResult } from '../results/types';

import { clientLabel, sameClient } from '../client/client-spec';

const GAP = '  ';

/**
 * Per stage, what it took in run A and in run B, the difference and its ratio; tests
 * are paired by id (a single test each: paired as they are), clients by name.
 */
export function formatReportDiff(a: RunResults, b: RunResults): string {
  const out = [`${a.runId} against ${b.runId}: time of each stage since the previous one, seconds (Δ > 0: ${a.runId} is slower)`];
  out.push(`host: ${hostLine(a)}  |  ${hostLine(b)}`);
  const bTests = new Map(b.tests.map((t) => [t.id, t]));
  const pairs: [TestResult, TestResult][] = [];
  for (const t of a.tests) {
    const other = bTests.get(t.id) ?? (a.tests.length === 1 && b.tests.length === 1 ? b.tests[0] : undefined);
    if (other && (t.clients.length > 0 || other.clients.length > 0)) pairs.push([t, other]);
  }
  if (pairs.length === 0) return [...out, 'no test with booted clients in both runs'].join('\n');
  for (const [ta, tb] of pairs) {
    out.push('', `test: ${ta.title}${ta.title === tb.title ? '' : ` | ${tb.title}`}`);
    const byName = new Map(tb.clients.map((c) => [c.client, c]));
    for (const ca of ta.clients) {
      const cb = byName.get(ca.client) ?? (ta.clients.length === 1 && tb.clients.length === 1 ? tb.clients[0] : undefined);
      if (!cb) {
        out.push(`${ca.client}: not in ${b.runId}`);
        continue;
      }
      out.push('', clientDiff(ca, cb));
    }
  }
  return out.join('\n');
}

function hostLine(r: RunResults): string {
  return `${r.runId}: ${r.host.accel}, ${r.host.cores} cores, speed factor ${r.host.speedFactor}, load ${r.host.loadAvg1}`;
}

/**
 * A's stage ids with B's own placed where B has them: each after the last stage the two
 * share before it. Two stacks (k12, ltsp23) share most ids; a stage of one stack only
 * sits between the shared ones it falls between (union and switch_root beside LTSP's
 * overlay and ltsp init), not after login.
 */
export function mergedStageOrder(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  let at = 0;
  for (const id of b) {
    const i = out.indexOf(id);
    if (i >= 0) {
      at = Math.max(at, i + 1);
      continue;
    }
    out.splice(at, 0, id);
    at++;
  }
  return out;
}

function clientDiff(a: ClientResult, b: ClientResult): string {
  const ids = mergedStageOrder(
    a.stages.map((s) => s.stage),
    b.stages.map((s) => s.stage),
  );
  const label = (id: string): string => a.stages.find((s) => s.stage === id)?.label ?? b.stages.find((s) => s.stage === id)?.label ?? id;
  const dur = (c: ClientResult, id: string): number | undefined => c.stages.find((s) => s.stage === id)?.durationMs;
  const header = ['stage', `${a.client} A`, `${b.client} B`, 'Δ', 'Δ %'];
  const row = (name: string, x: number | undefined, y: number | undefined): string[] => [
    name,
    x === undefined ? '-' : seconds(x),
    y === undefined ? '-' : seconds(y),
    x === undefined || y === undefined ? '-' : deltaSeconds(x - y),
    x === undefined || y === undefined || y === 0 ? '-' : `${x >= y ? '+' : ''}${Math.round(((x - y) / y) * 100)}%`,
  ];
  const body = ids.map((id) => row(label(id), dur(a, id), dur(b, id)));
  const total = (c: ClientResult): number | undefined => (c.ok ? c.stages[c.stages.length - 1]?.t : undefined);
  body.push(row('total (to the last stage)', total(a), total(b)));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(GAP).trimEnd();
  const notes = [a, b].filter((c) => !c.ok).map((c, i) => `${c.client} ${i === 0 && !a.ok ? 'A' : 'B'} FAILED at ${c.failedStage ?? '?'}`);
  // Different kinds are different kernels and initramfs: the difference is theirs, not a change of the stack.
  if (a.boots && b.boots && !sameClient(a.boots, b.boots)) notes.unshift(`note: ${a.client} A booted the ${clientLabel(a.boots)} client, ${b.client} B the ${clientLabel(b.boots)} client`);
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join(GAP), ...body.map(fmt), ...notes].join('\n');
}

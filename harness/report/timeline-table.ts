import { clientKinds, deltaSeconds, firstLine, pointRows, seconds, stageMatrix, type TimelineLike } from './stage-matrix';

const GAP = '  ';

/**
 * A plain-text boot timeline for the terminal: a row per stage, and per client its time
 * since QEMU start and the delta from its previous stage, in seconds. A stage a client
 * never reached shows "-"; failed clients get a footer line each.
 */
export function formatTimelineTable<T extends TimelineLike>(timelines: readonly T[]): string {
  if (timelines.length === 0) return 'boot timeline: no clients';
  const header = ['stage', ...timelines.flatMap((tl) => [tl.client, '+Δ'])];
  // The points inside a stage's span come before its row, in time order (indented; +Δ since the stage before).
  const body = stageMatrix(timelines).flatMap((row) => [
    ...pointRows(timelines, row.stage).map((p) => [`  · ${p.label}`, ...p.cells.flatMap((c) => (c ? [seconds(c.t), deltaSeconds(c.sinceStart)] : ['-', '-']))]),
    [row.label, ...row.cells.flatMap((c) => (c ? [seconds(c.t), deltaSeconds(c.delta)] : ['-', '-']))],
  ]);
  const kinds = clientKinds(timelines);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  // The stage column reads left to right; numbers line up on the right.
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(GAP).trimEnd();
  const points = timelines.some((tl) => tl.points?.length) ? '; · a point on the way to the stage below it, +Δ since the stage before' : '';
  const lines = [
    `boot timeline (seconds since QEMU start; +Δ since the previous stage${points})`,
    ...(kinds ? [`clients: ${kinds}`] : []),
    fmt(header),
    widths.map((w) => '-'.repeat(w)).join(GAP),
    ...body.map(fmt),
  ];
  if (body.length === 0) lines.push('(no stage reached)');
  for (const tl of timelines) {
    if (tl.ok) continue;
    const why = tl.error ? `: ${firstLine(tl.error)}` : '';
    lines.push(`${tl.client} FAILED at ${tl.failedStage ?? 'an unknown stage'}${why}`);
  }
  return lines.join('\n');
}

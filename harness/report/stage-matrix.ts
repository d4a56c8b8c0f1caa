import { clientLabel, type ClientSpec } from '../client/client-spec';

/** What a timeline table needs of a client: a ClientTimeline (a live run) or a ClientResult (results.json). */
export interface TimelineLike {
  client: string;
  /** What it booted: its kind (client/client-spec.ts). */
  boots?: ClientSpec;
  kernelVersion?: string;
  ok: boolean;
  failedStage?: string;
  error?: string;
  stages: readonly { stage: string; label: string; t: number; line: string }[];
  /** Points inside the stages (boot/stages.ts bootPoints). */
  points?: readonly { point: string; label: string; stage: string; t: number }[];
}

export interface StageCell {
  /** Milliseconds from QEMU start. */
  t: number;
  /** Milliseconds since the client's previous mark (since QEMU start for its first). */
  delta: number;
  line: string;
}

export interface StageRow {
  stage: string;
  /** The label of the stage's first appearance. */
  label: string;
  /** One per client, in the order given; undefined where the client never reached the stage. */
  cells: (StageCell | undefined)[];
}

/**
 * Stages as rows (the union of stage names, in order of first appearance) by clients as
 * columns. If a client marks a stage twice, its first mark counts.
 */
export function stageMatrix(timelines: readonly TimelineLike[]): StageRow[] {
  const rows = new Map<string, StageRow>();
  timelines.forEach((tl, col) => {
    let prev = 0;
    for (const mark of tl.stages) {
      let row = rows.get(mark.stage);
      if (!row) {
        row = { stage: mark.stage, label: mark.label || mark.stage, cells: timelines.map(() => undefined) };
        rows.set(mark.stage, row);
      }
      row.cells[col] ??= { t: mark.t, delta: mark.t - prev, line: mark.line };
      prev = mark.t;
    }
  });
  return [...rows.values()];
}

/** "c1: ltsp (kernel 6.1.158-ltsp-lab), c2: stock (...)"; empty when no client says what it booted. */
export function clientKinds(timelines: readonly TimelineLike[]): string {
  const said = timelines.filter((tl) => tl.boots);
  return said.map((tl) => `${tl.client}: ${clientLabel(tl.boots!)}${tl.kernelVersion ? ` (kernel ${tl.kernelVersion})` : ''}`).join(', ');
}

/**
 * The points inside one stage, as rows under it: each point's label, and per client its
 * time since QEMU start and since the stage began ('-' where the client has no such point).
 */
export function pointRows(timelines: readonly TimelineLike[], stage: string): { label: string; cells: ({ t: number; sinceStart: number } | undefined)[] }[] {
  const ids: { point: string; label: string }[] = [];
  for (const tl of timelines) for (const p of tl.points ?? []) if (p.stage === stage && !ids.some((i) => i.point === p.point)) ids.push({ point: p.point, label: p.label });
  return ids.map(({ point, label }) => ({
    label,
    cells: timelines.map((tl) => {
      const p = tl.points?.find((x) => x.point === point);
      if (!p) return undefined;
      const i = tl.stages.findIndex((s) => s.stage === stage);
      const begun = i > 0 ? (tl.stages[i - 1]?.t ?? 0) : 0;
      return { t: p.t, sinceStart: p.t - begun };
    }),
  }));
}

/** 12345 → "12.3". */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** 1500 → "+1.5"; a negative delta (marks out of order) keeps its sign. */
export function deltaSeconds(ms: number): string {
  return `${ms < 0 ? '' : '+'}${seconds(ms)}`;
}

/** The first line of an error, cut to `max` characters. */
export function firstLine(text: string, max = 120): string {
  const line = text.split('\n', 1)[0].trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

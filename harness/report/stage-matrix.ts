/** What a timeline table needs of a client: a ClientTimeline (a live run) or a ClientResult (results.json). */
export interface TimelineLike {
  client: string;
  ok: boolean;
  failedStage?: string;
  error?: string;
  stages: readonly { stage: string; label: string; t: number; line: string }[];
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

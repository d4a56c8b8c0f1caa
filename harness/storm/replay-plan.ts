import { NBD_CMD_READ } from '../nbd/nbd-protocol';
import type { Trace } from './trace';

export type Pace = 'recorded' | 'max';

/** One read to replay, with what it waited on in the recording. */
export interface PlannedRead {
  offset: number;
  length: number;
  /** ms after the previous read was sent, in the recording (0 for the first). */
  gapMs: number;
  /**
   * The read whose reply came last before this one was sent, in the recording (the one
   * it most likely waited for), and how long after that reply it was sent; -1 if none.
   */
  dep: number;
  afterDepMs: number;
}

/**
 * The reads of a trace, each tied to what it waited on. With the recorded pace a replay
 * sends read i no sooner than the recorded gap after read i-1, and no sooner than the
 * recorded think time after read dep(i)'s reply: alone, it keeps the recorded timing;
 * with a slow server, a read that waited for a reply waits for it again, as a real
 * client's would. Writes and NBD_CMD_DISC are not replayed (the root export is read-only).
 */
export function planReads(trace: Trace): PlannedRead[] {
  const reads = trace.rows.filter((r) => r[1] === NBD_CMD_READ);
  const byReply = reads
    .map((r, i) => ({ i, replyT: r[4] }))
    .filter((x): x is { i: number; replyT: number } => x.replyT !== null)
    .sort((a, b) => a.replyT - b.replyT);
  const plan: PlannedRead[] = [];
  let k = 0;
  let dep = -1;
  let depReply = 0;
  reads.forEach((r, i) => {
    const t = r[0];
    while (k < byReply.length && (byReply[k] as { replyT: number }).replyT <= t) {
      const c = byReply[k] as { i: number; replyT: number };
      if (c.i < i) {
        dep = c.i;
        depReply = c.replyT;
      }
      k++;
    }
    const prevT = i === 0 ? t : (reads[i - 1] as Trace['rows'][number])[0];
    plan.push({ offset: r[2], length: r[3], gapMs: Math.max(0, t - prevT), dep, afterDepMs: dep < 0 ? 0 : Math.max(0, t - depReply) });
  });
  return plan;
}

/** p in 0..100 of sorted-or-not values, nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] as number;
}

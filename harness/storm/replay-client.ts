import { readSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import type { Deadline } from '../common/deadline';
import * as P from '../nbd/nbd-protocol';
import type { Pace, PlannedRead } from './replay-plan';

/** A request that failed, named by its place in the trace. */
export interface ReplayError {
  /** Index among the trace's reads; -1 for the connection or handshake. */
  read: number;
  offset?: number;
  length?: number;
  what: string;
}

export interface ReplayResult {
  name: string;
  /** ms from the storm's start to this client's connect (its jitter). */
  startMs: number;
  /** ms from connect to the export open (NBD_OPT_GO's ACK). */
  handshakeMs: number;
  /** ms from connect to the last reply; NaN if the replay did not finish. */
  totalMs: number;
  /** Each completed read's latency, ms from its request sent to the last byte of its reply. */
  latencies: number[];
  completed: number;
  planned: number;
  bytes: number;
  /** Replies compared with the image file and found equal. */
  verified: number;
  errors: ReplayError[];
}

export interface ReplayOptions {
  name: string;
  host: string;
  port: number;
  exportName: string;
  plan: PlannedRead[];
  pace: Pace;
  /** With pace max: the most reads in flight (the recorded client's most). */
  maxInFlight: number;
  startMs: number;
  /** Drop the connection (a TCP reset, no NBD_CMD_DISC) once this many reads completed: a client switched off mid-boot. */
  dropAfter?: number;
  /** An open descriptor of the image the server serves: each reply is compared with it. */
  imageFd?: number;
  deadline: Deadline;
}

interface InFlight {
  index: number;
  sentAt: number;
}

/**
 * One replayed client: a TCP connection, the fixed-newstyle handshake and NBD_OPT_GO of
 * the export by name (as the Linux client and nbd-client do), then the trace's reads,
 * pipelined as the plan allows. Never rejects: what went wrong is in `errors`, each with
 * its request. Ends by the deadline whatever the server does.
 */
export function replayClient(o: ReplayOptions): Promise<ReplayResult> {
  return new Promise((resolve) => {
    const res: ReplayResult = { name: o.name, startMs: o.startMs, handshakeMs: NaN, totalMs: NaN, latencies: [], completed: 0, planned: o.plan.length, bytes: 0, verified: 0, errors: [] };
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const sock: Socket = createConnection({ host: o.host, port: o.port });
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let state: 'greeting' | 'options' | 'transmission' | 'done' = 'greeting';
    let goAcked = false;
    let tOpen = 0;
    const sent: number[] = new Array<number>(o.plan.length);
    const done: number[] = new Array<number>(o.plan.length);
    const inFlight = new Map<bigint, InFlight>();
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    let current: { req: InFlight; left: number; chunks: Buffer[] } | undefined;

    const finish = (why?: string): void => {
      if (state === 'done') return;
      if (why) {
        for (const f of inFlight.values()) res.errors.push(err(f.index, `${why} with the request in flight`));
        if (next < o.plan.length) res.errors.push({ read: next, what: `${why}: ${o.plan.length - next} reads not sent` });
      }
      state = 'done';
      clearTimeout(timer);
      clearTimeout(guard);
      if (!why) {
        const h = Buffer.alloc(28);
        h.writeUInt32BE(P.REQUEST_MAGIC, 0);
        h.writeUInt16BE(P.NBD_CMD_DISC, 6);
        sock.end(h);
        setTimeout(() => sock.destroy(), 1000).unref();
      } else {
        sock.destroy();
      }
      resolve(res);
    };
    const err = (index: number, what: string): ReplayError => {
      const r = o.plan[index];
      return { read: index, ...(r ? { offset: r.offset, length: r.length } : {}), what };
    };
    const guard = setTimeout(() => finish(`the storm's deadline (${o.deadline.what}) passed`), Math.max(0, o.deadline.remaining()));

    const readyAt = (i: number): number | undefined => {
      const r = o.plan[i] as PlannedRead;
      if (o.pace === 'max') return inFlight.size < o.maxInFlight ? 0 : undefined;
      let at = i === 0 ? tOpen : (sent[i - 1] as number) + r.gapMs;
      if (r.dep >= 0) {
        const d = done[r.dep];
        if (d === undefined) return undefined;
        at = Math.max(at, d + r.afterDepMs);
      }
      return at;
    };
    const pump = (): void => {
      timer = undefined;
      while (state === 'transmission' && next < o.plan.length) {
        const at = readyAt(next);
        if (at === undefined) return; // a reply frees it
        const wait = at - now();
        if (wait > 0.5) {
          timer = setTimeout(pump, wait);
          return;
        }
        const r = o.plan[next] as PlannedRead;
        const h = Buffer.alloc(28);
        h.writeUInt32BE(P.REQUEST_MAGIC, 0);
        h.writeUInt16BE(P.NBD_CMD_READ, 6);
        h.writeBigUInt64BE(BigInt(next + 1), 8);
        h.writeBigUInt64BE(BigInt(r.offset), 16);
        h.writeUInt32BE(r.length, 24);
        sent[next] = now();
        inFlight.set(BigInt(next + 1), { index: next, sentAt: sent[next] as number });
        sock.write(h);
        next++;
      }
    };
    const take = (n: number): Buffer | undefined => {
      if (buf.length < n) return undefined;
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    const replyDone = (f: InFlight, payload: Buffer): void => {
      const t = now();
      done[f.index] = t;
      res.latencies.push(t - f.sentAt);
      res.completed++;
      res.bytes += payload.length;
      if (o.imageFd !== undefined) {
        const r = o.plan[f.index] as PlannedRead;
        const want = Buffer.alloc(r.length);
        const got = readSync(o.imageFd, want, 0, r.length, r.offset);
        if (got === r.length && want.equals(payload)) res.verified++;
        else res.errors.push(err(f.index, `reply differs from the image at offset ${r.offset} (${r.length} bytes)`));
      }
      if (o.dropAfter !== undefined && res.completed >= o.dropAfter) {
        res.totalMs = t;
        state = 'done';
        clearTimeout(timer);
        clearTimeout(guard);
        sock.resetAndDestroy();
        resolve(res);
        return;
      }
      if (res.completed + res.errors.length >= o.plan.length && next >= o.plan.length && inFlight.size === 0) {
        res.totalMs = t;
        finish();
      }
    };
    const parse = (): void => {
      for (;;) {
        if (state === 'greeting') {
          const g = take(18);
          if (!g) return;
          if (g.readBigUInt64BE(0) !== P.NBDMAGIC || g.readBigUInt64BE(8) !== P.IHAVEOPT) return finish('the server did not greet with fixed newstyle');
          const flags = g.readUInt16BE(16);
          if (!(flags & P.NBD_FLAG_FIXED_NEWSTYLE)) return finish('the server does not offer fixed newstyle');
          const c = Buffer.alloc(4);
          c.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | (flags & P.NBD_FLAG_NO_ZEROES ? P.NBD_FLAG_C_NO_ZEROES : 0), 0);
          const name = Buffer.from(o.exportName, 'utf8');
          const opt = Buffer.alloc(16);
          opt.writeBigUInt64BE(P.IHAVEOPT, 0);
          opt.writeUInt32BE(P.NBD_OPT_GO, 8);
          opt.writeUInt32BE(4 + name.length + 2, 12);
          const len = Buffer.alloc(4);
          len.writeUInt32BE(name.length, 0);
          sock.write(Buffer.concat([c, opt, len, name, Buffer.alloc(2)]));
          state = 'options';
        } else if (state === 'options') {
          const head = buf.length >= 20 ? buf.subarray(0, 20) : undefined;
          if (!head) return;
          const type = head.readUInt32BE(12);
          if (!take(20 + head.readUInt32BE(16))) return;
          if (P.isErrorReply(type)) return finish(`the server refused NBD_OPT_GO '${o.exportName}': ${P.replyName(type)}`);
          if (type === P.NBD_REP_ACK) {
            goAcked = true;
            tOpen = now();
            res.handshakeMs = tOpen;
            state = 'transmission';
            if (o.plan.length === 0) {
              res.totalMs = tOpen;
              return finish();
            }
            pump();
          }
        } else if (state === 'transmission') {
          if (current) {
            const n = Math.min(current.left, buf.length);
            if (n === 0) return;
            current.chunks.push(Buffer.from(take(n) as Buffer));
            current.left -= n;
            if (current.left === 0) {
              const c = current;
              current = undefined;
              replyDone(c.req, Buffer.concat(c.chunks));
              if (state !== 'transmission') return;
              pump();
            }
            continue;
          }
          const r = take(16);
          if (!r) return;
          if (r.readUInt32BE(0) !== P.SIMPLE_REPLY_MAGIC) return finish(`bad reply magic 0x${r.readUInt32BE(0).toString(16)}`);
          const handle = r.readBigUInt64BE(8);
          const f = inFlight.get(handle);
          if (!f) return finish(`a reply for handle ${handle}, never sent or already answered`);
          inFlight.delete(handle);
          const e = r.readUInt32BE(4);
          if (e !== 0) {
            res.errors.push(err(f.index, `error ${P.errnoName(e)} (${e})`));
            done[f.index] = now();
            pump();
            continue;
          }
          current = { req: f, left: (o.plan[f.index] as PlannedRead).length, chunks: [] };
        } else {
          return;
        }
      }
    };
    sock.on('data', (b: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, b]) : b;
      parse();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(`socket error ${e.code ?? e.message}${goAcked ? '' : ' before the export opened'}`));
    sock.on('close', () => finish(goAcked ? 'the server closed the connection' : 'the server closed the connection during the handshake'));
  });
}

import * as P from '../nbd/nbd-protocol';

/** One transmission-phase request as the server saw it, and when its reply left. */
export interface TappedRequest {
  /** ms since the connection was accepted, when the request's header arrived. */
  t: number;
  type: number;
  offset: bigint;
  length: number;
  /** ms since accept when the reply's header went back; undefined if none did (NBD_CMD_DISC, a cut). */
  replyT?: number;
  error?: number;
}

export interface TappedConnection {
  /** NBD_OPT_* names in the order the client sent them. */
  options: string[];
  exportName?: string;
  /** ms since accept when the server answered the export (NBD_OPT_GO's ACK, NBD_OPT_EXPORT_NAME's reply). */
  transmissionT?: number;
  requests: TappedRequest[];
  /** The most requests the client had in flight at once. */
  maxInFlight: number;
}

/** Byte framing over a stream seen in chunks: take exactly n bytes, or wait for more. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  get size(): number {
    return this.buf.length;
  }

  peek(n: number): Buffer | undefined {
    return this.buf.length >= n ? this.buf.subarray(0, n) : undefined;
  }

  take(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/**
 * What an NBD connection carries, read from both directions of a relayed TCP stream
 * (proto.md: fixed newstyle, simple replies; what a Linux nbd client and nbd-server
 * speak when no structured replies are negotiated). It never alters the bytes; it only
 * frames them. A stream it cannot frame stops being parsed (`lost` says why) while the
 * relay goes on.
 */
export class NbdWireTap {
  readonly conn: TappedConnection = { options: [], requests: [], maxInFlight: 0 };
  lost?: string;
  private readonly up = new Framer();
  private readonly down = new Framer();
  private upState: 'flags' | 'options' | 'transmission' = 'flags';
  private downState: 'greeting' | 'options' | 'exportName' | 'transmission' = 'greeting';
  private noZeroes = false;
  /** NBD_OPT_GO or NBD_OPT_EXPORT_NAME sent: the reply that ends negotiation. */
  private pendingExport?: number;
  private readonly inFlight = new Map<bigint, TappedRequest>();
  /** A read reply whose payload is still to come: bytes left. */
  private payloadLeft = 0;

  /** Bytes from the client to the server, at `t` ms since accept. */
  fromClient(chunk: Buffer, t: number): void {
    if (this.lost) return;
    this.up.push(chunk);
    try {
      this.parseUp(t);
    } catch (e) {
      this.lost = (e as Error).message;
    }
  }

  /** Bytes from the server to the client, at `t` ms since accept. */
  fromServer(chunk: Buffer, t: number): void {
    if (this.lost) return;
    this.down.push(chunk);
    try {
      this.parseDown(t);
    } catch (e) {
      this.lost = (e as Error).message;
    }
  }

  private parseUp(t: number): void {
    for (;;) {
      if (this.upState === 'flags') {
        const f = this.up.take(4);
        if (!f) return;
        this.noZeroes = (f.readUInt32BE(0) & P.NBD_FLAG_C_NO_ZEROES) !== 0;
        this.upState = 'options';
      } else if (this.upState === 'options') {
        const head = this.up.peek(16);
        if (!head) return;
        if (head.readUInt32BE(0) === P.REQUEST_MAGIC) {
          this.upState = 'transmission';
          continue;
        }
        if (head.readBigUInt64BE(0) !== P.IHAVEOPT) throw new Error(`client sent neither IHAVEOPT nor a request in negotiation`);
        const len = head.readUInt32BE(12);
        const whole = this.up.take(16 + len);
        if (!whole) return;
        const opt = head.readUInt32BE(8);
        this.conn.options.push(P.optionName(opt));
        const data = whole.subarray(16);
        if (opt === P.NBD_OPT_EXPORT_NAME) {
          this.conn.exportName = data.toString('utf8');
          this.pendingExport = opt;
          this.upState = 'transmission';
        } else if (opt === P.NBD_OPT_GO && data.length >= 4) {
          this.conn.exportName = data.subarray(4, 4 + data.readUInt32BE(0)).toString('utf8');
          this.pendingExport = opt;
        }
      } else {
        const head = this.up.peek(28);
        if (!head) return;
        if (head.readUInt32BE(0) !== P.REQUEST_MAGIC) throw new Error(`bad request magic 0x${head.readUInt32BE(0).toString(16)}`);
        const type = head.readUInt16BE(6);
        const length = head.readUInt32BE(24);
        const whole = this.up.take(28 + (type === P.NBD_CMD_WRITE ? length : 0));
        if (!whole) return;
        const req: TappedRequest = { t, type, offset: head.readBigUInt64BE(16), length };
        this.conn.requests.push(req);
        if (type !== P.NBD_CMD_DISC) {
          this.inFlight.set(head.readBigUInt64BE(8), req);
          this.conn.maxInFlight = Math.max(this.conn.maxInFlight, this.inFlight.size);
        }
      }
    }
  }

  private parseDown(t: number): void {
    for (;;) {
      if (this.downState === 'greeting') {
        if (!this.down.take(18)) return;
        this.downState = 'options';
      } else if (this.downState === 'options') {
        if (this.pendingExport === P.NBD_OPT_EXPORT_NAME) {
          this.downState = 'exportName';
          continue;
        }
        const head = this.down.peek(20);
        if (!head) return;
        const whole = this.down.take(20 + head.readUInt32BE(16));
        if (!whole) return;
        if (head.readUInt32BE(8) === P.NBD_OPT_GO && head.readUInt32BE(12) === P.NBD_REP_ACK) {
          this.conn.transmissionT = t;
          this.downState = 'transmission';
        }
      } else if (this.downState === 'exportName') {
        if (!this.down.take(10 + (this.noZeroes ? 0 : P.EXPORT_NAME_ZEROES))) return;
        this.conn.transmissionT = t;
        this.downState = 'transmission';
      } else if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, this.down.size);
        if (n === 0) return;
        this.down.take(n);
        this.payloadLeft -= n;
      } else {
        const head = this.down.take(16);
        if (!head) return;
        if (head.readUInt32BE(0) !== P.SIMPLE_REPLY_MAGIC) throw new Error(`reply magic 0x${head.readUInt32BE(0).toString(16)} is not a simple reply`);
        const handle = head.readBigUInt64BE(8);
        const req = this.inFlight.get(handle);
        if (!req) throw new Error(`a reply for handle ${handle}, which is not in flight`);
        this.inFlight.delete(handle);
        req.replyT = t;
        const error = head.readUInt32BE(4);
        if (error !== 0) req.error = error;
        else if (req.type === P.NBD_CMD_READ) this.payloadLeft = req.length;
      }
    }
  }
}

import { createConnection, type Socket } from 'node:net';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import { DeadlineError, HarnessError } from '../common/errors';
import { log } from '../common/log';
import { ByteQueue, StreamEnded } from './byte-queue';
import { NbdCommandError, NbdConnectError, NbdProtocolError, NbdRefusedError } from './nbd-errors';
import * as P from './nbd-protocol';

export { NbdCommandError, NbdConnectError, NbdProtocolError, NbdRefusedError } from './nbd-errors';
export type { NbdErrnoName } from './nbd-protocol';

export interface NbdExportInfo {
  name: string;
  size: bigint;
  readOnly: boolean;
  /** The raw transmission flags (proto.md "Transmission flags"). */
  flags: number;
}

export interface NbdConnectOptions {
  /** Default 10809, the IANA port for newstyle negotiation. */
  port?: number;
  /** Bounds the TCP connect and the initial handshake. */
  deadline: Deadline;
}

type Phase = 'handshake' | 'transmission';

interface OptionReply {
  type: number;
  data: Buffer;
}

const debug = log('nbd');
/** Option replies carry strings of at most 4096 bytes (proto.md "Conventions"), plus a little framing. */
const MAX_OPTION_REPLY = 64 * 1024;
/** Larger requests need negotiated block-size constraints (proto.md "Block size constraints"). */
const MAX_REQUEST = 32 * 1024 * 1024;
const MAX_NAME = 4096;
/** How long close() waits for the server to hang up after NBD_CMD_DISC / NBD_OPT_ABORT. */
const CLOSE_GRACE_MS = budgetMs('nbdHangUp');

/**
 * A deliberately small NBD client used as an independent peer against the lab's
 * nbd-server: fixed-newstyle handshake, NBD_OPT_LIST, NBD_OPT_GO (NBD_OPT_EXPORT_NAME
 * as fallback), and simple-reply NBD_CMD_READ / NBD_CMD_WRITE. It never negotiates
 * structured replies, TLS or metadata contexts, and it does not second-guess the server:
 * a write to a read-only export is sent, because seeing it refused is the point.
 *
 * One request at a time. A timeout or protocol error mid-message tears the connection
 * down, since the byte stream cannot be resynchronised.
 */
export class NbdPeer implements AsyncDisposable {
  /** "host:port", for messages. */
  readonly server: string;

  private readonly socket: Socket;
  private readonly queue = new ByteQueue();
  private readonly closed: Promise<void>;
  private phase: Phase = 'handshake';
  private fixed = false;
  private zeroesOff = false;
  private opened?: NbdExportInfo;
  private nextHandle = 1n;
  private busy = false;
  /** The protocol step in flight, named in the error if the server hangs up during it. */
  private step = 'handshake';
  private socketClosed = false;
  private socketError?: string;
  private broken?: string;
  private closing?: Promise<void>;

  private constructor(socket: Socket, server: string) {
    this.socket = socket;
    this.server = server;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.queue.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.socketError = err.code ?? err.message;
      debug('%s socket error: %s', server, err.message);
    });
    socket.on('end', () => this.queue.end(new StreamEnded('the server closed the connection')));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.socketClosed = true;
        this.queue.end(new StreamEnded('the connection closed', this.socketError));
        debug('%s closed', server);
        resolve();
      });
    });
  }

  /**
   * Connects and does the newstyle handshake up to the start of option haggling.
   * Rejects with NbdConnectError if there is no TCP connection, NbdRefusedError (reason
   * 'closed') if the server hangs up during the greeting, NbdProtocolError if it is not
   * a newstyle NBD server, DeadlineError if `deadline` passes.
   */
  static async connect(host: string, opts: NbdConnectOptions): Promise<NbdPeer> {
    const port = opts.port ?? P.NBD_DEFAULT_PORT;
    const server = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const peer = new NbdPeer(createConnection({ host, port }), server);
    try {
      await peer.tcpConnect(opts.deadline);
      await peer.exclusive('handshake', () => peer.handshake(opts.deadline));
      return peer;
    } catch (err) {
      peer.socket.destroy();
      throw err;
    }
  }

  /** Whether the server offered fixed newstyle; without it there is no NBD_OPT_LIST or NBD_OPT_GO. */
  get fixedNewstyle(): boolean {
    return this.fixed;
  }

  /** The export opened by open(), once in the transmission phase. */
  get exportInfo(): NbdExportInfo | undefined {
    return this.opened;
  }

  /**
   * NBD_OPT_LIST. nbd-server answers NBD_REP_ERR_POLICY unless its config says
   * `allowlist = true`; that, like any error reply, rejects with NbdRefusedError.
   */
  listExports(deadline: Deadline): Promise<string[]> {
    return this.exclusive('NBD_OPT_LIST', async () => {
      this.requireHandshake('NBD_OPT_LIST');
      if (!this.fixed) {
        throw new NbdProtocolError(`NBD server ${this.server} does not offer fixed newstyle negotiation, so it cannot list exports`);
      }
      this.sendOption(P.NBD_OPT_LIST, Buffer.alloc(0));
      const names: string[] = [];
      for (;;) {
        const r = await this.recvOptionReply(P.NBD_OPT_LIST, deadline);
        if (r.type === P.NBD_REP_SERVER) names.push(this.parseServerReply(r.data));
        else if (r.type === P.NBD_REP_ACK) return names;
        else if (P.isErrorReply(r.type)) throw this.refused(r, 'NBD_OPT_LIST');
        else throw this.unexpectedReply(r, P.NBD_OPT_LIST);
      }
    });
  }

  /**
   * Selects an export and enters the transmission phase: NBD_OPT_GO, or
   * NBD_OPT_EXPORT_NAME if the server answers GO with NBD_REP_ERR_UNSUP or does not
   * speak fixed newstyle. An error reply rejects with NbdRefusedError named after it;
   * a hang-up (NBD_OPT_EXPORT_NAME's only way to say no) with reason 'closed'.
   */
  open(name: string, deadline: Deadline): Promise<NbdExportInfo> {
    return this.exclusive('open', async () => {
      this.requireHandshake('open');
      const nameBytes = Buffer.from(name, 'utf8');
      if (nameBytes.length > MAX_NAME) throw new RangeError(`NBD export name longer than ${MAX_NAME} bytes`);
      if (this.fixed && (await this.go(name, nameBytes, deadline))) return this.opened as NbdExportInfo;
      return this.exportName(name, nameBytes, deadline);
    }, name);
  }

  /** NBD_CMD_READ. A non-zero error in the reply rejects with NbdCommandError. */
  read(offset: bigint, length: number, deadline: Deadline): Promise<Buffer> {
    return this.exclusive('NBD_CMD_READ', async () => {
      checkRequest(offset, length);
      const exp = this.requireTransmission('NBD_CMD_READ');
      const handle = this.sendRequest(P.NBD_CMD_READ, offset, length);
      await this.recvSimpleReply(handle, 'NBD_CMD_READ', exp, offset, length, deadline);
      // Copy, so the caller does not hold on to the socket's chunk.
      return Buffer.from(await this.recv(length, deadline, 'NBD_CMD_READ payload'));
    });
  }

  /**
   * NBD_CMD_WRITE, sent even to an export flagged read-only. A non-zero error in the
   * reply (EPERM from a read-only nbd-server export) rejects with NbdCommandError.
   */
  write(offset: bigint, data: Buffer, deadline: Deadline): Promise<void> {
    return this.exclusive('NBD_CMD_WRITE', async () => {
      checkRequest(offset, data.length);
      const exp = this.requireTransmission('NBD_CMD_WRITE');
      const handle = this.sendRequest(P.NBD_CMD_WRITE, offset, data.length, data);
      await this.recvSimpleReply(handle, 'NBD_CMD_WRITE', exp, offset, data.length, deadline);
    });
  }

  /**
   * Soft disconnect (NBD_CMD_DISC in transmission, NBD_OPT_ABORT during option haggling),
   * then waits briefly for the server to hang up. With a request in flight, or on a
   * broken connection, it just drops the connection. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    if (!this.socketClosed && !this.busy && !this.broken) {
      if (this.phase === 'transmission') {
        this.sendRequest(P.NBD_CMD_DISC, 0n, 0);
      } else if (this.fixed) {
        // nbd-server hangs up without the NBD_REP_ACK proto.md asks for, so do not wait for one.
        this.sendOption(P.NBD_OPT_ABORT, Buffer.alloc(0));
      }
      this.socket.end();
      await Deadline.after(CLOSE_GRACE_MS, `NBD ${this.server} hang-up`).race(this.closed).catch(() => undefined);
    }
    this.socket.destroy();
    await this.closed;
  }

  private tcpConnect(deadline: Deadline): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('close', () => {
        const code = this.socketError;
        reject(new NbdConnectError(`cannot connect to NBD server ${this.server}: ${code ?? 'connection closed'}`, {
          server: this.server,
          ...(code === undefined ? {} : { code }),
        }));
      });
    });
    return deadline.race(connected, () => this.timeout(deadline, 'TCP connect'));
  }

  // proto.md "Newstyle negotiation" and "Fixed newstyle negotiation".
  private async handshake(deadline: Deadline): Promise<void> {
    const magic = await this.recv(16, deadline, 'server greeting');
    const m1 = magic.readBigUInt64BE(0);
    const m2 = magic.readBigUInt64BE(8);
    if (m1 !== P.NBDMAGIC) {
      throw new NbdProtocolError(`${this.server} is not an NBD server: greeting starts 0x${m1.toString(16)}`);
    }
    if (m2 === P.CLISERV_MAGIC) {
      throw new NbdProtocolError(`NBD server ${this.server} offers only the oldstyle handshake, which NbdPeer does not speak`);
    }
    if (m2 !== P.IHAVEOPT) {
      throw new NbdProtocolError(`NBD server ${this.server}: expected IHAVEOPT after NBDMAGIC, got 0x${m2.toString(16)}`);
    }
    const handshakeFlags = (await this.recv(2, deadline, 'handshake flags')).readUInt16BE(0);
    this.fixed = (handshakeFlags & P.NBD_FLAG_FIXED_NEWSTYLE) !== 0;
    this.zeroesOff = (handshakeFlags & P.NBD_FLAG_NO_ZEROES) !== 0;
    // The server must drop clients that set flags it did not offer, so mirror its offer.
    const clientFlags = (this.fixed ? P.NBD_FLAG_C_FIXED_NEWSTYLE : 0) | (this.zeroesOff ? P.NBD_FLAG_C_NO_ZEROES : 0);
    debug('%s handshake flags 0x%s, client flags 0x%s', this.server, handshakeFlags.toString(16), clientFlags.toString(16));
    this.send(u32(clientFlags));
  }

  /** NBD_OPT_GO; false if the server does not know the option (NBD_REP_ERR_UNSUP). */
  private async go(name: string, nameBytes: Buffer, deadline: Deadline): Promise<boolean> {
    // An empty information-request list: NBD_INFO_EXPORT comes regardless. It also keeps
    // the stream in step with nbd-server, which answers a GO it refuses by policy before
    // reading the request list.
    this.sendOption(P.NBD_OPT_GO, Buffer.concat([u32(nameBytes.length), nameBytes, Buffer.alloc(2)]));
    let info: { size: bigint; flags: number } | undefined;
    for (;;) {
      const r = await this.recvOptionReply(P.NBD_OPT_GO, deadline);
      if (r.type === P.NBD_REP_INFO) {
        if (r.data.length < 2) throw this.malformed(r, P.NBD_OPT_GO);
        if (r.data.readUInt16BE(0) !== P.NBD_INFO_EXPORT) continue; // other information types are optional
        if (r.data.length !== 12) throw this.malformed(r, P.NBD_OPT_GO);
        info = { size: r.data.readBigUInt64BE(2), flags: r.data.readUInt16BE(10) };
      } else if (r.type === P.NBD_REP_ACK) {
        if (!info) throw new NbdProtocolError(`NBD server ${this.server} acknowledged NBD_OPT_GO without NBD_INFO_EXPORT`);
        this.enter(name, info.size, info.flags);
        return true;
      } else if (r.type === P.NBD_REP_ERR_UNSUP) {
        debug('%s does not support NBD_OPT_GO; falling back to NBD_OPT_EXPORT_NAME', this.server);
        return false;
      } else if (P.isErrorReply(r.type)) {
        throw this.refused(r, 'NBD_OPT_GO', name);
      } else {
        throw this.unexpectedReply(r, P.NBD_OPT_GO);
      }
    }
  }

  private async exportName(name: string, nameBytes: Buffer, deadline: Deadline): Promise<NbdExportInfo> {
    this.sendOption(P.NBD_OPT_EXPORT_NAME, nameBytes);
    const r = await this.recv(10, deadline, 'reply to NBD_OPT_EXPORT_NAME');
    if (!this.zeroesOff) await this.recv(P.EXPORT_NAME_ZEROES, deadline, 'NBD_OPT_EXPORT_NAME padding');
    return this.enter(name, r.readBigUInt64BE(0), r.readUInt16BE(8));
  }

  private enter(name: string, size: bigint, flags: number): NbdExportInfo {
    this.phase = 'transmission';
    this.opened = { name, size, readOnly: (flags & P.NBD_FLAG_READ_ONLY) !== 0, flags };
    debug('%s export %s: %s bytes, flags 0x%s', this.server, JSON.stringify(name), size, flags.toString(16));
    return this.opened;
  }

  /**
   * Runs one operation, one at a time, and turns a hang-up into the error the phase
   * calls for: a refusal during the handshake, a protocol error in transmission.
   */
  private async exclusive<T>(during: string, fn: () => Promise<T>, exportName?: string): Promise<T> {
    if (this.closing) throw new HarnessError(`NBD ${this.server}: ${during} after close()`);
    if (this.broken) throw new HarnessError(`NBD ${this.server}: ${during} on a connection dropped after ${this.broken}`);
    if (this.busy) throw new HarnessError(`NBD ${this.server}: ${during} while another request is in flight; NbdPeer does one at a time`);
    const phase = this.phase;
    this.busy = true;
    this.step = during;
    try {
      return await fn();
    } catch (err) {
      if (this.closing) throw new HarnessError(`NBD ${this.server}: ${during} cut off by close()`, { cause: err });
      if (err instanceof NbdProtocolError) this.drop('a protocol error');
      if (!(err instanceof StreamEnded)) throw err;
      if (phase === 'handshake') {
        throw new NbdRefusedError({
          server: this.server,
          during: this.step,
          reason: 'closed',
          ...(exportName === undefined ? {} : { exportName }),
          ...(err.code === undefined ? {} : { socketError: err.code }),
          cause: err,
        });
      }
      const code = err.code === undefined ? '' : ` (${err.code})`;
      throw new NbdProtocolError(`NBD server ${this.server} closed the connection during ${this.step}${code}`, { cause: err });
    } finally {
      this.busy = false;
    }
  }

  private requireHandshake(what: string): void {
    if (this.phase !== 'handshake') {
      throw new HarnessError(`NBD ${this.server}: ${what} after export '${this.opened?.name}' was opened`);
    }
  }

  private requireTransmission(what: string): NbdExportInfo {
    if (!this.opened) throw new HarnessError(`NBD ${this.server}: ${what} before open()`);
    return this.opened;
  }

  private async recv(n: number, deadline: Deadline, waitingFor: string): Promise<Buffer> {
    try {
      return await deadline.race(this.queue.read(n), () => this.timeout(deadline, waitingFor));
    } catch (err) {
      if (err instanceof DeadlineError) this.drop(`a timeout waiting for ${waitingFor}`);
      throw err;
    }
  }

  /** Gives up on the connection: part of a message may be unread. */
  private drop(why: string): void {
    this.broken ??= why;
    this.socket.destroy();
  }

  private send(buf: Buffer): void {
    // After the server hung up there is nothing to write to; the next read reports it.
    if (this.socket.writable) this.socket.write(buf);
  }

  private sendOption(opt: number, data: Buffer): void {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(P.IHAVEOPT, 0);
    head.writeUInt32BE(opt, 8);
    head.writeUInt32BE(data.length, 12);
    this.step = P.optionName(opt);
    debug('%s >> %s (%d bytes)', this.server, this.step, data.length);
    this.send(Buffer.concat([head, data]));
  }

  private async recvOptionReply(opt: number, deadline: Deadline): Promise<OptionReply> {
    const name = P.optionName(opt);
    const head = await this.recv(20, deadline, `reply to ${name}`);
    const magic = head.readBigUInt64BE(0);
    if (magic !== P.OPTION_REPLY_MAGIC) {
      throw new NbdProtocolError(`NBD server ${this.server}: bad option reply magic 0x${magic.toString(16)} while waiting for a reply to ${name}`);
    }
    const replyOpt = head.readUInt32BE(8);
    if (replyOpt !== opt) {
      throw new NbdProtocolError(`NBD server ${this.server}: reply for ${P.optionName(replyOpt)} while waiting for a reply to ${name}`);
    }
    const type = head.readUInt32BE(12);
    const len = head.readUInt32BE(16);
    if (len > MAX_OPTION_REPLY) {
      throw new NbdProtocolError(`NBD server ${this.server}: ${P.replyName(type)} to ${name} claims ${len} bytes`);
    }
    const data = len ? await this.recv(len, deadline, `reply to ${name}`) : Buffer.alloc(0);
    debug('%s << %s %s (%d bytes)', this.server, name, P.replyName(type), len);
    return { type, data };
  }

  private parseServerReply(data: Buffer): string {
    const len = data.length >= 4 ? data.readUInt32BE(0) : -1;
    if (len < 0 || len > data.length - 4) {
      throw this.malformed({ type: P.NBD_REP_SERVER, data }, P.NBD_OPT_LIST);
    }
    // Whatever follows the name is a free-form description, not part of it.
    return data.subarray(4, 4 + len).toString('utf8');
  }

  private refused(r: OptionReply, during: string, exportName?: string): NbdRefusedError {
    return new NbdRefusedError({
      server: this.server,
      during,
      reason: P.replyName(r.type),
      ...(exportName === undefined ? {} : { exportName }),
      ...(r.data.length ? { serverMessage: r.data.toString('utf8') } : {}),
    });
  }

  private unexpectedReply(r: OptionReply, opt: number): NbdProtocolError {
    return new NbdProtocolError(`NBD server ${this.server}: unexpected ${P.replyName(r.type)} in reply to ${P.optionName(opt)}`);
  }

  private malformed(r: OptionReply, opt: number): NbdProtocolError {
    return new NbdProtocolError(
      `NBD server ${this.server}: malformed ${P.replyName(r.type)} (${r.data.length} bytes) in reply to ${P.optionName(opt)}`,
    );
  }

  // proto.md "Request message".
  private sendRequest(type: number, offset: bigint, length: number, data?: Buffer): bigint {
    const handle = this.nextHandle++;
    const head = Buffer.alloc(28);
    head.writeUInt32BE(P.REQUEST_MAGIC, 0);
    head.writeUInt16BE(0, 4); // command flags
    head.writeUInt16BE(type, 6);
    head.writeBigUInt64BE(handle, 8);
    head.writeBigUInt64BE(offset, 16);
    head.writeUInt32BE(length, 24);
    debug('%s >> cmd %d offset %s length %d handle %s', this.server, type, offset, length, handle);
    this.send(head);
    if (data) this.send(data);
    return handle;
  }

  // proto.md "Simple reply message".
  private async recvSimpleReply(
    handle: bigint,
    command: string,
    exp: NbdExportInfo,
    offset: bigint,
    length: number,
    deadline: Deadline,
  ): Promise<void> {
    const r = await this.recv(16, deadline, `reply to ${command}`);
    const magic = r.readUInt32BE(0);
    if (magic === P.STRUCTURED_REPLY_MAGIC) {
      throw new NbdProtocolError(`NBD server ${this.server} sent a structured reply to ${command}, which was never negotiated`);
    }
    if (magic !== P.SIMPLE_REPLY_MAGIC) {
      throw new NbdProtocolError(`NBD server ${this.server}: bad reply magic 0x${magic.toString(16)} for ${command}`);
    }
    const errno = r.readUInt32BE(4);
    const replyHandle = r.readBigUInt64BE(8);
    if (replyHandle !== handle) {
      throw new NbdProtocolError(`NBD server ${this.server}: reply for handle ${replyHandle} while waiting for ${handle} (${command})`);
    }
    debug('%s << %s handle %s error %d', this.server, command, handle, errno);
    if (errno !== 0) {
      throw new NbdCommandError({
        server: this.server,
        exportName: exp.name,
        command,
        offset,
        length,
        errno,
        errnoName: P.errnoName(errno),
      });
    }
  }

  private timeout(deadline: Deadline, waitingFor: string): DeadlineError {
    const step = deadline.cappedBy === undefined ? deadline.what : `${deadline.what} (cut short by '${deadline.cappedBy}')`;
    return new DeadlineError(`NBD server ${this.server}: ${waitingFor} (${step})`, deadline.totalMs, deadline.elapsed());
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function checkRequest(offset: bigint, length: number): void {
  if (offset < 0n || offset >= 1n << 64n) throw new RangeError(`NBD request offset ${offset} out of range`);
  if (!Number.isInteger(length) || length < 1 || length > MAX_REQUEST) {
    throw new RangeError(`NBD request length ${length} not in 1..${MAX_REQUEST}`);
  }
}

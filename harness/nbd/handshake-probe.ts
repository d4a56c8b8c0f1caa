import { createConnection } from 'node:net';
import type { Deadline } from '../common/deadline';
import { DeadlineError } from '../common/errors';
import { ByteQueue, StreamEnded } from './byte-queue';
import { NbdConnectError, NbdProtocolError } from './nbd-errors';
import * as P from './nbd-protocol';

/**
 * What an NBD server negotiates (proto.md "Handshake"), the column of the nbd grid
 * (docs/nbd-grid.md):
 *   oldstyle        NBDMAGIC, cliserv magic, the export's size: no names (nbd < 2.9.17,
 *                   nbdkit --oldstyle); clients since nbd 3.10 refuse it
 *   newstyle        IHAVEOPT without NBD_FLAG_FIXED_NEWSTYLE: only NBD_OPT_EXPORT_NAME
 *   fixed newstyle  NBD_FLAG_FIXED_NEWSTYLE (nbd 3.1+): options that fail get replies;
 *                   `go` says whether NBD_OPT_GO is known (nbd 3.16+), else a client
 *                   falls back to NBD_OPT_EXPORT_NAME (bookworm's nbd-client needs -g)
 */
export type HandshakeStyle = 'oldstyle' | 'newstyle' | 'fixed newstyle';

export interface Handshake {
  style: HandshakeStyle;
  /** Fixed newstyle only: whether the server answered NBD_OPT_GO with anything but NBD_REP_ERR_UNSUP. */
  go?: boolean;
  /** Newstyle only: NBD_FLAG_NO_ZEROES offered. */
  noZeroes?: boolean;
  /** Old-style only: the export's size, from the greeting. */
  size?: bigint;
}

/** 'fixed newstyle + GO', 'fixed newstyle, no GO', 'newstyle', 'oldstyle'. */
export function handshakeLabel(h: Handshake): string {
  if (h.style !== 'fixed newstyle') return h.style;
  return h.go ? 'fixed newstyle + GO' : 'fixed newstyle, no GO';
}

/**
 * Connects to host:port, reads the greeting and, on a fixed-newstyle server, asks
 * NBD_OPT_GO for `exportName` to learn whether GO is known, then NBD_OPT_ABORT. It
 * never enters transmission. NbdConnectError: nothing listens; NbdProtocolError: not
 * an NBD greeting; a DeadlineError when `deadline` passes.
 */
export async function probeHandshake(host: string, port: number, exportName: string, deadline: Deadline): Promise<Handshake> {
  const server = `${host}:${port}`;
  const socket = createConnection({ host, port });
  const queue = new ByteQueue();
  socket.on('data', (c: Buffer) => queue.push(c));
  socket.on('close', () => queue.end(new StreamEnded(`${server} closed the connection`)));
  socket.on('error', (e: NodeJS.ErrnoException) => queue.end(new StreamEnded(`${server}: ${e.message}`, e.code)));
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(new NbdConnectError(`cannot connect to NBD server ${server}: ${e.code ?? e.message}`, { server, ...(e.code === undefined ? {} : { code: e.code }) })));
  });
  const timeout = (what: string) => (): DeadlineError => new DeadlineError(`NBD server ${server}: ${what} (${deadline.what})`, deadline.totalMs, deadline.elapsed());
  const recv = (n: number, what: string): Promise<Buffer> => deadline.race(queue.read(n), timeout(what));
  try {
    await deadline.race(connected, timeout('TCP connection'));
    const greeting = await recv(16, 'greeting');
    if (greeting.readBigUInt64BE(0) !== P.NBDMAGIC) {
      throw new NbdProtocolError(`${server} is not an NBD server: greeting starts 0x${greeting.readBigUInt64BE(0).toString(16)}`);
    }
    const magic = greeting.readBigUInt64BE(8);
    if (magic === P.CLISERV_MAGIC) return { style: 'oldstyle', size: (await recv(8, 'old-style export size')).readBigUInt64BE(0) };
    if (magic !== P.IHAVEOPT) throw new NbdProtocolError(`NBD server ${server}: neither IHAVEOPT nor the cliserv magic after NBDMAGIC: 0x${magic.toString(16)}`);
    const flags = (await recv(2, 'handshake flags')).readUInt16BE(0);
    const fixed = (flags & P.NBD_FLAG_FIXED_NEWSTYLE) !== 0;
    const noZeroes = (flags & P.NBD_FLAG_NO_ZEROES) !== 0;
    if (!fixed) return { style: 'newstyle', noZeroes };
    socket.write(u32(P.NBD_FLAG_C_FIXED_NEWSTYLE | (noZeroes ? P.NBD_FLAG_C_NO_ZEROES : 0)));
    const name = Buffer.from(exportName, 'utf8');
    socket.write(option(P.NBD_OPT_GO, Buffer.concat([u32(name.length), name, Buffer.alloc(2)])));
    let go: boolean | undefined;
    while (go === undefined) {
      const head = await recv(20, 'reply to NBD_OPT_GO');
      if (head.readBigUInt64BE(0) !== P.OPTION_REPLY_MAGIC) throw new NbdProtocolError(`NBD server ${server}: a reply to NBD_OPT_GO without the option reply magic`);
      const type = head.readUInt32BE(12);
      const len = head.readUInt32BE(16);
      if (len > 65536) throw new NbdProtocolError(`NBD server ${server}: a ${len}-byte option reply`);
      if (len > 0) await recv(len, 'option reply data');
      // Information replies come before the ACK; any final reply but UNSUP says GO is known.
      if (type === P.NBD_REP_INFO) continue;
      go = type !== P.NBD_REP_ERR_UNSUP;
    }
    socket.write(option(P.NBD_OPT_ABORT, Buffer.alloc(0)));
    return { style: 'fixed newstyle', go, noZeroes };
  } finally {
    socket.destroy();
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function option(opt: number, data: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64BE(P.IHAVEOPT, 0);
  head.writeUInt32BE(opt, 8);
  head.writeUInt32BE(data.length, 12);
  return Buffer.concat([head, data]);
}

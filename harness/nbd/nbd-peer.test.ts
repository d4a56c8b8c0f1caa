import { expect } from 'chai';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Deadline } from '../common/deadline';
import { DeadlineError, HarnessError, SutError } from '../common/errors';
import { NbdCommandError, NbdConnectError, NbdPeer, NbdProtocolError, NbdRefusedError } from './nbd-peer';

// Wire values written out from proto.md rather than imported, so a wrong constant in
// nbd-protocol.ts cannot agree with itself.
const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const REPLY_MAGIC = Buffer.from('0003e889045565a9', 'hex');
const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, GO: 7 } as const;
const REP = { ACK: 1, SERVER: 2, INFO: 3, ERR_UNSUP: 0x80000001, ERR_POLICY: 0x80000002, ERR_UNKNOWN: 0x80000006 } as const;
const CMD = { READ: 0, WRITE: 1, DISC: 2 } as const;
const HAS_FLAGS = 1;
const READ_ONLY = 2;
const SEND_FLUSH = 4;

interface FakeExport {
  data: Buffer;
  readOnly: boolean;
}

interface FakeBehaviour {
  exports: Record<string, FakeExport>;
  /** Handshake flags offered: bit 0 FIXED_NEWSTYLE, bit 1 NO_ZEROES. */
  handshakeFlags: number;
  /** What happens right after accept. */
  onAccept: 'greet' | 'close' | 'silent' | 'garbage';
  /** Error reply to NBD_OPT_LIST instead of the list. */
  listError?: number;
  /** Error reply to NBD_OPT_GO instead of looking the export up. */
  goError?: number;
  /** Hang up on receiving this option, as nbd-server does for a refused NBD_OPT_EXPORT_NAME. */
  hangUpOn?: number;
  /** Never answer NBD_CMD_READ. */
  silentRead?: boolean;
}

interface FakeCommand {
  type: number;
  offset: bigint;
  length: number;
  data?: Buffer;
}

/** Exact-length reads from a socket; rejects once the socket is gone. */
class Reader {
  private buf = Buffer.alloc(0);
  private done = false;
  private wake?: () => void;

  constructor(sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    sock.on('close', () => {
      this.done = true;
      this.wake?.();
    });
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.done) throw new Error('client went away');
      await new Promise<void>((r) => (this.wake = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** Just enough of an NBD server (proto.md, fixed newstyle, simple replies) to exercise NbdPeer. */
class FakeNbd {
  readonly behaviour: FakeBehaviour = {
    exports: {
      root: { data: pattern(4096), readOnly: true },
      home: { data: Buffer.alloc(1024), readOnly: false },
    },
    handshakeFlags: 0b11,
    onAccept: 'greet',
  };

  clientFlags?: number;
  readonly options: number[] = [];
  readonly commands: FakeCommand[] = [];
  aborted = false;
  disconnected = false;
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  /** Resolves when the newest connection has closed. */
  connectionClosed: Promise<void> = Promise.resolve();

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    this.server = createServer((sock) => {
      this.sockets.add(sock);
      sock.setNoDelay(true);
      this.connectionClosed = new Promise((r) => sock.on('close', () => r()));
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => undefined);
      this.serve(sock).catch(() => sock.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private async serve(sock: Socket): Promise<void> {
    const b = this.behaviour;
    if (b.onAccept === 'close') return void sock.destroy();
    if (b.onAccept === 'silent') return;
    if (b.onAccept === 'garbage') return void sock.write('SSH-2.0-OpenSSH_9.2\r\n');
    const rd = new Reader(sock);
    sock.write(Buffer.concat([NBDMAGIC, IHAVEOPT, u16(b.handshakeFlags)]));
    this.clientFlags = (await rd.bytes(4)).readUInt32BE(0);
    for (;;) {
      const head = await rd.bytes(16);
      expect(head.subarray(0, 8).equals(IHAVEOPT), 'option magic').to.equal(true);
      const opt = head.readUInt32BE(8);
      const data = await rd.bytes(head.readUInt32BE(12));
      this.options.push(opt);
      if (opt === b.hangUpOn) return void sock.destroy();
      const reply = (type: number, payload: Buffer = Buffer.alloc(0)): void => {
        sock.write(Buffer.concat([REPLY_MAGIC, u32(opt), u32(type), u32(payload.length), payload]));
      };
      switch (opt) {
        case OPT.LIST:
          if (b.listError !== undefined) {
            reply(b.listError, Buffer.from('Listing of exports denied by server configuration'));
            break;
          }
          for (const name of Object.keys(b.exports)) reply(REP.SERVER, Buffer.concat([u32(name.length), Buffer.from(name)]));
          reply(REP.ACK);
          break;
        case OPT.ABORT:
          // Like nbd-server: no NBD_REP_ACK, just hang up.
          this.aborted = true;
          return void sock.end();
        case OPT.GO: {
          const nameLen = data.readUInt32BE(0);
          const name = data.subarray(4, 4 + nameLen).toString();
          expect(data.readUInt16BE(4 + nameLen), 'information requests').to.equal(0);
          const exp = b.exports[name];
          if (b.goError !== undefined) {
            reply(b.goError, b.goError === REP.ERR_UNSUP ? Buffer.alloc(0) : Buffer.from('Access denied by server configuration'));
          } else if (!exp) {
            reply(REP.ERR_UNKNOWN, Buffer.from('Export unknown'));
          } else {
            reply(REP.INFO, Buffer.concat([u16(1), Buffer.from('ignored')])); // NBD_INFO_NAME: must be skipped
            reply(REP.INFO, Buffer.concat([u16(0), u64(BigInt(exp.data.length)), u16(flagsOf(exp))]));
            reply(REP.ACK);
            return this.transmit(sock, rd, exp);
          }
          break;
        }
        case OPT.EXPORT_NAME: {
          const exp = b.exports[data.toString()];
          if (!exp) return void sock.destroy();
          const noZeroes = ((this.clientFlags ?? 0) & 2) !== 0;
          sock.write(Buffer.concat([u64(BigInt(exp.data.length)), u16(flagsOf(exp)), Buffer.alloc(noZeroes ? 0 : 124)]));
          return this.transmit(sock, rd, exp);
        }
        default:
          reply(REP.ERR_UNSUP);
      }
    }
  }

  private async transmit(sock: Socket, rd: Reader, exp: FakeExport): Promise<void> {
    for (;;) {
      const req = await rd.bytes(28);
      expect(req.readUInt32BE(0), 'request magic').to.equal(0x25609513);
      const type = req.readUInt16BE(6);
      const handle = req.subarray(8, 16);
      const offset = req.readBigUInt64BE(16);
      const length = req.readUInt32BE(24);
      const reply = (error: number, payload: Buffer = Buffer.alloc(0)): void => {
        sock.write(Buffer.concat([u32(0x67446698), u32(error), handle, payload]));
      };
      const at = Number(offset);
      switch (type) {
        case CMD.READ:
          this.commands.push({ type, offset, length });
          if (!this.behaviour.silentRead) reply(0, exp.data.subarray(at, at + length));
          break;
        case CMD.WRITE: {
          const data = Buffer.from(await rd.bytes(length));
          this.commands.push({ type, offset, length, data });
          if (exp.readOnly) {
            reply(1); // EPERM, as nbd-server's bad_write()
          } else {
            data.copy(exp.data, at);
            reply(0);
          }
          break;
        }
        case CMD.DISC:
          this.disconnected = true;
          return void sock.end();
        default:
          reply(22);
      }
    }
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

function pattern(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
}

function flagsOf(exp: FakeExport): number {
  return HAS_FLAGS | SEND_FLUSH | (exp.readOnly ? READ_ONLY : 0);
}

async function rejection<T extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(cls);
    return e as T;
  }
  return expect.fail(`expected a ${cls.name}`);
}

describe('NbdPeer', function () {
  this.timeout(2000);
  let fake: FakeNbd;
  let peer: NbdPeer | undefined;
  const soon = (what = 'nbd test step'): Deadline => Deadline.after(1000, what);

  const connect = async (): Promise<NbdPeer> => {
    peer = await NbdPeer.connect('127.0.0.1', { port: fake.port, deadline: soon('nbd connect') });
    return peer;
  };

  beforeEach(async () => {
    fake = new FakeNbd();
    await fake.listen();
  });

  afterEach(async () => {
    await peer?.close();
    peer = undefined;
    await fake.stop();
  });

  it('negotiates fixed newstyle with NO_ZEROES and lists the exports', async () => {
    const p = await connect();
    expect(p.fixedNewstyle).to.equal(true);
    expect(await p.listExports(soon())).to.deep.equal(['root', 'home']);
    expect(fake.clientFlags).to.equal(0b11);
    expect(fake.options).to.deep.equal([OPT.LIST]);
  });

  it('opens a read-only export with NBD_OPT_GO and reports its size and flags', async () => {
    const p = await connect();
    const info = await p.open('root', soon());
    expect(info).to.deep.equal({ name: 'root', size: 4096n, readOnly: true, flags: HAS_FLAGS | READ_ONLY | SEND_FLUSH });
    expect(p.exportInfo).to.deep.equal(info);
    expect(fake.options).to.deep.equal([OPT.GO]);
  });

  it('opens a writable export as not read-only', async () => {
    const p = await connect();
    const info = await p.open('home', soon());
    expect(info.readOnly).to.equal(false);
    expect(info.size).to.equal(1024n);
  });

  it('reads the bytes at an offset', async () => {
    const p = await connect();
    await p.open('root', soon());
    const got = await p.read(1000n, 48, soon());
    expect(got.equals(pattern(4096).subarray(1000, 1048))).to.equal(true);
    expect(fake.commands).to.deep.equal([{ type: CMD.READ, offset: 1000n, length: 48 }]);
  });

  it('sends a write to a read-only export and rejects with the EPERM it gets back', async () => {
    const p = await connect();
    await p.open('root', soon());
    const payload = Buffer.from('this must not land');
    const err = await rejection(p.write(512n, payload, soon()), NbdCommandError);
    expect(err).to.be.instanceOf(SutError);
    expect(err).to.include({ errno: 1, errnoName: 'EPERM', command: 'NBD_CMD_WRITE', exportName: 'root', length: payload.length });
    expect(err.offset).to.equal(512n);
    expect(err.message).to.match(/EPERM/);
    // The write really went out, payload and all...
    expect(fake.commands).to.have.length(1);
    expect(fake.commands[0].data?.equals(payload)).to.equal(true);
    // ...and the connection is still in step afterwards.
    expect((await p.read(512n, 4, soon())).equals(pattern(4096).subarray(512, 516))).to.equal(true);
  });

  it('writes to a writable export', async () => {
    const p = await connect();
    await p.open('home', soon());
    await p.write(10n, Buffer.from('hello'), soon());
    expect(fake.behaviour.exports.home.data.subarray(10, 15).toString()).to.equal('hello');
    expect((await p.read(10n, 5, soon())).toString()).to.equal('hello');
  });

  it('rejects an NBD_OPT_GO refused by policy with NBD_REP_ERR_POLICY and stays in the handshake', async () => {
    fake.behaviour.goError = REP.ERR_POLICY;
    const p = await connect();
    const err = await rejection(p.open('root', soon()), NbdRefusedError);
    expect(err).to.include({
      reason: 'NBD_REP_ERR_POLICY',
      during: 'NBD_OPT_GO',
      exportName: 'root',
      serverMessage: 'Access denied by server configuration',
    });
    expect(err.kind).to.equal('sut');
    expect(p.exportInfo).to.equal(undefined);
    await p.close();
    await fake.connectionClosed;
    expect(fake.aborted, 'soft disconnect with NBD_OPT_ABORT').to.equal(true);
  });

  it('rejects an unknown export with NBD_REP_ERR_UNKNOWN', async () => {
    const p = await connect();
    const err = await rejection(p.open('swap', soon()), NbdRefusedError);
    expect(err.reason).to.equal('NBD_REP_ERR_UNKNOWN');
    expect(err.message).to.contain("NBD_OPT_GO for export 'swap'").and.contain('Export unknown');
  });

  it('rejects a listing refused by policy, as nbd-server does without allowlist', async () => {
    fake.behaviour.listError = REP.ERR_POLICY;
    const p = await connect();
    const err = await rejection(p.listExports(soon()), NbdRefusedError);
    expect(err).to.include({ reason: 'NBD_REP_ERR_POLICY', during: 'NBD_OPT_LIST' });
    // An error reply leaves option haggling usable.
    expect((await p.open('root', soon())).readOnly).to.equal(true);
  });

  it('falls back to NBD_OPT_EXPORT_NAME when GO is unsupported, and skips the 124 zero bytes', async () => {
    fake.behaviour.goError = REP.ERR_UNSUP;
    fake.behaviour.handshakeFlags = 0b01; // no NO_ZEROES: the reply carries the padding
    const p = await connect();
    const info = await p.open('root', soon());
    expect(fake.clientFlags, 'client flags mirror the offer').to.equal(0b01);
    expect(fake.options).to.deep.equal([OPT.GO, OPT.EXPORT_NAME]);
    expect(info).to.deep.equal({ name: 'root', size: 4096n, readOnly: true, flags: HAS_FLAGS | READ_ONLY | SEND_FLUSH });
    expect((await p.read(0n, 8, soon())).equals(pattern(8))).to.equal(true);
  });

  it('reports a hang-up during the greeting as a refusal with reason closed', async () => {
    fake.behaviour.onAccept = 'close';
    const err = await rejection(NbdPeer.connect('127.0.0.1', { port: fake.port, deadline: soon() }), NbdRefusedError);
    expect(err).to.include({ reason: 'closed', during: 'handshake' });
    expect(err.message).to.contain(`127.0.0.1:${fake.port}`);
  });

  it('reports a hang-up in answer to NBD_OPT_GO as a refusal with reason closed', async () => {
    fake.behaviour.hangUpOn = OPT.GO;
    const p = await connect();
    const err = await rejection(p.open('root', soon()), NbdRefusedError);
    expect(err).to.include({ reason: 'closed', during: 'NBD_OPT_GO', exportName: 'root' });
  });

  it('reports a hang-up after NBD_OPT_EXPORT_NAME as a refusal with reason closed', async () => {
    fake.behaviour.goError = REP.ERR_UNSUP;
    fake.behaviour.hangUpOn = OPT.EXPORT_NAME;
    const p = await connect();
    const err = await rejection(p.open('root', soon()), NbdRefusedError);
    expect(err).to.include({ reason: 'closed', during: 'NBD_OPT_EXPORT_NAME' });
  });

  it('gives up on a server that never sends its greeting when the deadline passes', async () => {
    fake.behaviour.onAccept = 'silent';
    const started = Date.now();
    const err = await rejection(
      NbdPeer.connect('127.0.0.1', { port: fake.port, deadline: Deadline.after(150, 'nbd greeting') }),
      DeadlineError,
    );
    expect(Date.now() - started).to.be.within(140, 1000);
    expect(err.message).to.contain('server greeting').and.contain('nbd greeting');
  });

  it('gives up on a read that is never answered, and drops the connection', async () => {
    fake.behaviour.silentRead = true;
    const p = await connect();
    await p.open('root', soon());
    const err = await rejection(p.read(0n, 512, Deadline.after(100, 'nbd read')), DeadlineError);
    expect(err.message).to.contain('reply to NBD_CMD_READ');
    await fake.connectionClosed;
    const again = await rejection(p.read(0n, 512, soon()), HarnessError);
    expect(again.message).to.contain('dropped after a timeout');
  });

  it('rejects something that is not an NBD server with NbdProtocolError', async () => {
    fake.behaviour.onAccept = 'garbage';
    const err = await rejection(NbdPeer.connect('127.0.0.1', { port: fake.port, deadline: soon() }), NbdProtocolError);
    expect(err.message).to.contain('not an NBD server');
  });

  it('rejects with NbdConnectError, not a refusal, when nothing listens', async () => {
    const port = fake.port;
    await fake.stop();
    const err = await rejection(NbdPeer.connect('127.0.0.1', { port, deadline: soon() }), NbdConnectError);
    expect(err).not.to.be.instanceOf(NbdRefusedError);
    expect(err.code).to.equal('ECONNREFUSED');
  });

  it('closes with NBD_CMD_DISC in transmission, once, however often it is called', async () => {
    const p = await connect();
    await p.open('root', soon());
    await Promise.all([p.close(), p.close()]);
    await p.close();
    await fake.connectionClosed;
    expect(fake.disconnected).to.equal(true);
    await rejection(p.read(0n, 1, soon()), HarnessError);
  });

  it('refuses a second request while one is in flight', async () => {
    fake.behaviour.silentRead = true;
    const p = await connect();
    await p.open('root', soon());
    const first = p.read(0n, 1, Deadline.after(100, 'first read'));
    const err = await rejection(p.read(1n, 1, soon()), HarnessError);
    expect(err.message).to.contain('one at a time');
    await rejection(first, DeadlineError);
  });
});

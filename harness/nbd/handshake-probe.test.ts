import { expect } from 'chai';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Deadline } from '../common/deadline';
import { DeadlineError } from '../common/errors';
import { handshakeLabel, probeHandshake } from './handshake-probe';
import { NbdConnectError, NbdProtocolError } from './nbd-errors';

// Wire values written out from proto.md rather than imported, so a wrong constant in
// nbd-protocol.ts cannot agree with itself.
const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const CLISERV = Buffer.from('0000420281861253', 'hex');
const REPLY_MAGIC = Buffer.from('0003e889045565a9', 'hex');
const REP = { ACK: 1, INFO: 3, ERR_UNSUP: 0x80000001, ERR_UNKNOWN: 0x80000006 } as const;

type Greeter = (sock: Socket) => void;

function reply(opt: number, type: number, data = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(20);
  REPLY_MAGIC.copy(b, 0);
  b.writeUInt32BE(opt, 8);
  b.writeUInt32BE(type, 12);
  b.writeUInt32BE(data.length, 16);
  return Buffer.concat([b, data]);
}

/** A newstyle server offering `flags`; after the client's flags and first option, it sends what `answer` gives. */
function newstyle(flags: number, answer?: (opt: number) => Buffer): Greeter {
  return (sock) => {
    const f = Buffer.alloc(2);
    f.writeUInt16BE(flags);
    sock.write(Buffer.concat([NBDMAGIC, IHAVEOPT, f]));
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      // client flags (4) + option header (16) + its data
      if (answer && got.length >= 20 && got.length >= 20 + got.readUInt32BE(16)) {
        const opt = got.readUInt32BE(12);
        got = Buffer.alloc(0);
        if (opt !== 2) sock.write(answer(opt));
      }
    });
  };
}

const servers: Server[] = [];
async function serve(greet: Greeter): Promise<number> {
  const srv = createServer((sock) => {
    sock.on('error', () => undefined);
    greet(sock);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as AddressInfo).port;
}

const probe = async (greet: Greeter) => probeHandshake('127.0.0.1', await serve(greet), 'root', Deadline.after(2000, 'probe'));

describe('probeHandshake: what an NBD server negotiates', () => {
  after(() => {
    for (const s of servers) s.close();
  });

  it('old-style: NBDMAGIC, the cliserv magic and the size (nbdkit --oldstyle, nbd < 2.9.17)', async () => {
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(1048576n);
    const h = await probe((s) => s.write(Buffer.concat([NBDMAGIC, CLISERV, size, Buffer.alloc(4), Buffer.alloc(124)])));
    expect(h).to.deep.equal({ style: 'oldstyle', size: 1048576n });
    expect(handshakeLabel(h)).to.equal('oldstyle');
  });

  it('newstyle without the fixed flag: no options asked', async () => {
    const h = await probe(newstyle(2));
    expect(h).to.deep.equal({ style: 'newstyle', noZeroes: true });
  });

  it('fixed newstyle with NBD_OPT_GO: information, then ACK (nbd 3.16+)', async () => {
    const info = Buffer.alloc(12);
    info.writeBigUInt64BE(4096n, 2);
    const h = await probe(newstyle(3, (opt) => Buffer.concat([reply(opt, REP.INFO, info), reply(opt, REP.ACK)])));
    expect(h).to.deep.equal({ style: 'fixed newstyle', go: true, noZeroes: true });
    expect(handshakeLabel(h)).to.equal('fixed newstyle + GO');
  });

  it('fixed newstyle that knows GO but not the export: still GO (the refusal is about the name)', async () => {
    const h = await probe(newstyle(1, (opt) => reply(opt, REP.ERR_UNKNOWN)));
    expect(h).to.deep.equal({ style: 'fixed newstyle', go: true, noZeroes: false });
  });

  it('fixed newstyle without GO: NBD_REP_ERR_UNSUP (nbd 3.1 to 3.15)', async () => {
    const h = await probe(newstyle(1, (opt) => reply(opt, REP.ERR_UNSUP)));
    expect(handshakeLabel(h)).to.equal('fixed newstyle, no GO');
  });

  it('something that is not NBD is a protocol error; nothing listening a connect error; silence a deadline', async () => {
    const err = await probe((s) => s.write(Buffer.from('HTTP/1.0 400 Bad Request\r\n\r\n'))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NbdProtocolError);
    const closed = await serve((s) => s.destroy());
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await probeHandshake('127.0.0.1', closed, 'root', Deadline.after(2000, 'probe')).catch((e: unknown) => e)).to.be.instanceOf(NbdConnectError);
    const silent = await serve(() => undefined);
    expect(await probeHandshake('127.0.0.1', silent, 'root', Deadline.after(300, 'probe')).catch((e: unknown) => e)).to.be.instanceOf(DeadlineError);
  });
});

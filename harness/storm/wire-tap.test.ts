import { expect } from 'chai';
import { NbdWireTap } from './wire-tap';

// Wire values from proto.md, written out rather than imported.
const IHAVEOPT = Buffer.from('IHAVEOPT');
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
};
const request = (type: number, handle: number, offset: number, length: number): Buffer => Buffer.concat([u32(0x25609513), u16(0), u16(type), u64(handle), u64(offset), u32(length)]);
const reply = (handle: number, error = 0): Buffer => Buffer.concat([u32(0x67446698), u32(error), u64(handle)]);
const optReply = (opt: number, type: number, data = Buffer.alloc(0)): Buffer => Buffer.concat([Buffer.from('0003e889045565a9', 'hex'), u32(opt), u32(type), u32(data.length), data]);

const greeting = Buffer.concat([Buffer.from('NBDMAGIC'), IHAVEOPT, u16(3)]);
const go = (name: string): Buffer => Buffer.concat([IHAVEOPT, u32(7), u32(4 + name.length + 2), u32(name.length), Buffer.from(name), u16(0)]);

/** Feeds both directions, in `split`-byte pieces, with times that say which piece it was. */
function feed(tap: NbdWireTap, steps: [dir: 'c' | 's', bytes: Buffer, t: number][], split: number): void {
  for (const [dir, bytes, t] of steps) {
    for (let i = 0; i < bytes.length; i += split) {
      const piece = bytes.subarray(i, i + split);
      if (dir === 'c') tap.fromClient(piece, t);
      else tap.fromServer(piece, t);
    }
  }
}

describe('NbdWireTap: an NBD stream framed from both directions of a relay', () => {
  const steps: [('c' | 's'), Buffer, number][] = [
    ['s', greeting, 0],
    ['c', u32(3), 1],
    ['c', Buffer.concat([IHAVEOPT, u32(3), u32(0)]), 2], // NBD_OPT_LIST
    ['s', optReply(3, 1), 3],
    ['c', go('root'), 4],
    ['s', Buffer.concat([optReply(7, 3, Buffer.concat([u16(0), u64(1 << 20), u16(3)])), optReply(7, 1)]), 5],
    // two reads in flight, answered out of order, then a write with its payload
    ['c', Buffer.concat([request(0, 10, 4096, 512), request(0, 11, 0, 1024)]), 10],
    ['s', Buffer.concat([reply(11), Buffer.alloc(1024, 7)]), 12],
    ['s', Buffer.concat([reply(10), Buffer.alloc(512, 9)]), 15],
    ['c', Buffer.concat([request(1, 12, 8192, 100), Buffer.alloc(100, 1)]), 20],
    ['s', reply(12, 1), 21],
    ['c', request(2, 13, 0, 0), 30],
  ];

  for (const split of [100_000, 1, 7]) {
    it(`reads the options, the export, each request with its reply's time (chunks of ${split} bytes)`, () => {
      const tap = new NbdWireTap();
      feed(tap, steps, split);
      expect(tap.lost).to.equal(undefined);
      expect(tap.conn.options).to.deep.equal(['NBD_OPT_LIST', 'NBD_OPT_GO']);
      expect(tap.conn.exportName).to.equal('root');
      expect(tap.conn.transmissionT).to.equal(5);
      expect(tap.conn.maxInFlight).to.equal(2);
      expect(tap.conn.requests.map((r) => [r.t, r.type, Number(r.offset), r.length, r.replyT, r.error])).to.deep.equal([
        [10, 0, 4096, 512, 15, undefined],
        [10, 0, 0, 1024, 12, undefined],
        [20, 1, 8192, 100, 21, 1],
        [30, 2, 0, 0, undefined, undefined],
      ]);
    });
  }

  it('says when the stream is not NBD, and stops parsing', () => {
    const tap = new NbdWireTap();
    tap.fromServer(greeting, 0);
    tap.fromClient(Buffer.concat([u32(1), Buffer.from('GET / HTTP/1.1\r\n\r\n')]), 1);
    expect(tap.lost).to.match(/neither IHAVEOPT nor a request/);
  });

  it('reads NBD_OPT_EXPORT_NAME with its 124 zero bytes of padding', () => {
    const tap = new NbdWireTap();
    feed(tap, [
      ['s', greeting, 0],
      ['c', u32(1), 1],
      ['c', Buffer.concat([IHAVEOPT, u32(1), u32(4), Buffer.from('root')]), 2],
      ['s', Buffer.concat([u64(1 << 20), u16(3), Buffer.alloc(124)]), 3],
      ['c', request(0, 1, 0, 4), 4],
      ['s', Buffer.concat([reply(1), Buffer.alloc(4)]), 6],
    ], 5);
    expect(tap.lost).to.equal(undefined);
    expect(tap.conn.exportName).to.equal('root');
    expect(tap.conn.requests.map((r) => r.replyT)).to.deep.equal([6]);
  });
});

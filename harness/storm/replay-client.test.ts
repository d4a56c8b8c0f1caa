import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { replayClient, type ReplayOptions } from './replay-client';
import type { PlannedRead } from './replay-plan';

const IMAGE = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 255));

interface Fake {
  /** ms to hold the reply of read #i (by handle - 1). */
  holdMs?: (read: number) => number;
  /** Flip a byte of read #i's reply. */
  corrupt?: number;
  /** Close the connection on read #i's request. */
  closeAt?: number;
  /** Each read's arrival, ms since the export opened. */
  arrivals: number[];
}

/** A pipelined fixed-newstyle NBD server of IMAGE, as nbd-server answers a read-only export. */
function fakeServer(f: Fake): Promise<Server> {
  const server = createServer((s: Socket) => {
    let buf = Buffer.alloc(0);
    let phase: 'flags' | 'opts' | 'tx' = 'flags';
    let t0 = 0;
    s.write(Buffer.concat([Buffer.from('NBDMAGIC'), Buffer.from('IHAVEOPT'), Buffer.from([0, 3])]));
    s.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      for (;;) {
        if (phase === 'flags') {
          if (buf.length < 4) return;
          buf = buf.subarray(4);
          phase = 'opts';
        } else if (phase === 'opts') {
          if (buf.length < 16 || buf.length < 16 + buf.readUInt32BE(12)) return;
          const len = buf.readUInt32BE(12);
          buf = buf.subarray(16 + len);
          const rep = Buffer.alloc(20);
          Buffer.from('0003e889045565a9', 'hex').copy(rep, 0);
          rep.writeUInt32BE(7, 8);
          rep.writeUInt32BE(1, 12); // NBD_REP_ACK
          s.write(rep);
          t0 = performance.now();
          phase = 'tx';
        } else {
          if (buf.length < 28) return;
          const type = buf.readUInt16BE(6);
          const handle = buf.readBigUInt64BE(8);
          const offset = Number(buf.readBigUInt64BE(16));
          const length = buf.readUInt32BE(24);
          buf = buf.subarray(28);
          if (type === 2) {
            s.end();
            return;
          }
          const read = Number(handle) - 1;
          f.arrivals[read] = performance.now() - t0;
          if (read === f.closeAt) {
            s.destroy();
            return;
          }
          const data = Buffer.from(IMAGE.subarray(offset, offset + length));
          if (read === f.corrupt) data[0] = (data[0] as number) ^ 0xff;
          const head = Buffer.alloc(16);
          head.writeUInt32BE(0x67446698, 0);
          head.writeBigUInt64BE(handle, 8);
          setTimeout(() => s.writable && s.write(Buffer.concat([head, data])), f.holdMs?.(read) ?? 0);
        }
      }
    });
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('replayClient: one replayed boot against a pipelined NBD server', () => {
  let dir: string;
  let fd: number;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'storm-'));
    writeFileSync(join(dir, 'image'), IMAGE);
    fd = openSync(join(dir, 'image'), 'r');
  });
  after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  const plan: PlannedRead[] = [
    { offset: 0, length: 4096, gapMs: 0, dep: -1, afterDepMs: 0 },
    { offset: 8192, length: 1024, gapMs: 0, dep: -1, afterDepMs: 0 },
    // waited, in the recording, 20 ms after read 0's reply
    { offset: 512, length: 100, gapMs: 0, dep: 0, afterDepMs: 20 },
    { offset: 60000, length: 5536, gapMs: 30, dep: 2, afterDepMs: 0 },
  ];

  async function run(f: Fake, over: Partial<ReplayOptions> = {}): Promise<Awaited<ReturnType<typeof replayClient>>> {
    const server = await fakeServer(f);
    try {
      return await replayClient({ name: 't', host: '127.0.0.1', port: (server.address() as AddressInfo).port, exportName: 'root', plan, pace: 'recorded', maxInFlight: 2, startMs: 0, imageFd: fd, deadline: Deadline.after(5000, 'test replay'), ...over });
    } finally {
      server.close();
    }
  }

  it('completes every read, each reply equal to the image, with a latency each', async () => {
    const r = await run({ arrivals: [] });
    expect(r.errors).to.deep.equal([]);
    expect([r.completed, r.verified, r.latencies.length, r.bytes]).to.deep.equal([4, 4, 4, 4096 + 1024 + 100 + 5536]);
    expect(r.totalMs).to.be.above(r.handshakeMs);
  });

  it('with the recorded pace, a read waits for the reply it waited for, and then its think time', async () => {
    const f: Fake = { arrivals: [], holdMs: (i) => (i === 0 ? 150 : 0) };
    const r = await run(f);
    expect(r.errors).to.deep.equal([]);
    // read 1 had no dependency: it went out with read 0; read 2 after read 0's reply (150 ms) + 20 ms
    expect(f.arrivals[1]).to.be.below(100);
    expect(f.arrivals[2]).to.be.at.least(165);
    expect(f.arrivals[3]).to.be.at.least((f.arrivals[2] as number) + 25);
  });

  it('with pace max, no more reads in flight than the recording had, and no gaps', async () => {
    const f: Fake = { arrivals: [], holdMs: (i) => (i === 0 || i === 2 ? 150 : 0) };
    const r = await run(f, { pace: 'max', maxInFlight: 2 });
    expect(r.errors).to.deep.equal([]);
    expect(f.arrivals[2]).to.be.below(100); // once read 1 answered, not waiting for read 0 nor its 20 ms
    expect(f.arrivals[3]).to.be.at.least(140); // reads 0 and 2 in flight: read 3 waits for one of them
  });

  it('names the read whose reply differs from the image', async () => {
    const r = await run({ arrivals: [], corrupt: 1 });
    expect(r.errors).to.deep.equal([{ read: 1, offset: 8192, length: 1024, what: 'reply differs from the image at offset 8192 (1024 bytes)' }]);
    expect(r.verified).to.equal(3);
  });

  it('a server that hangs up mid-replay: the request in flight and the unsent reads are errors, and it returns', async () => {
    const r = await run({ arrivals: [], closeAt: 2 });
    expect(r.completed).to.equal(2);
    expect(r.errors.map((e) => e.read)).to.deep.equal([2, 3]);
    expect(r.errors[0]?.what).to.match(/closed the connection with the request in flight/);
    expect(r.errors[1]?.what).to.match(/1 reads not sent/);
    expect(r.totalMs).to.be.NaN;
  });

  it('dropAfter: resets the connection once that many reads completed, without an error', async () => {
    const r = await run({ arrivals: [] }, { dropAfter: 2 });
    expect([r.completed, r.errors]).to.deep.equal([2, []]);
  });

  it('ends by its deadline when the server never answers', async () => {
    const t = performance.now();
    const r = await run({ arrivals: [], holdMs: () => 60_000 }, { deadline: Deadline.after(300, 'short storm') });
    expect(performance.now() - t).to.be.below(2000);
    expect(r.errors[0]?.what).to.match(/short storm/);
  });
});

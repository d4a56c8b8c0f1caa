import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { ConsoleRelay, SCROLLBACK_BYTES } from './console-relay';

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** The next chunk `stream` emits, as text. */
function nextData(stream: Readable): Promise<string> {
  return new Promise((resolve) => stream.once('data', (d: Buffer | string) => resolve(d.toString())));
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
}

describe('ConsoleRelay', function () {
  this.timeout(2000);
  let dir: string;
  let path: string;
  let output: PassThrough;
  let input: PassThrough;
  const relays: ConsoleRelay[] = [];
  const sockets: Socket[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-relay-'));
    path = join(dir, 'c1.console');
    output = new PassThrough();
    input = new PassThrough();
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const r of relays.splice(0)) await r.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function listen(): Promise<ConsoleRelay> {
    const relay = await ConsoleRelay.listen(path, output, input);
    relays.push(relay);
    return relay;
  }

  /** A connected client the relay has registered: its first keystroke has arrived. */
  async function client(): Promise<Socket> {
    const s = await connect(path);
    sockets.push(s);
    const typed = nextData(input);
    s.write('\r');
    expect(await typed).to.equal('\r');
    return s;
  }

  it('sends what the console prints to a client, and what the client types to the console', async () => {
    await listen();
    const s = await client();

    const seen = nextData(s);
    output.write('c1 login: ');
    expect(await seen).to.equal('c1 login: ');

    const typed = nextData(input);
    s.write('root\n');
    expect(await typed).to.equal('root\n');
  });

  it('sends console output to every connected client', async () => {
    await listen();
    const a = await client();
    const b = await client();
    const seenA = nextData(a);
    const seenB = nextData(b);
    output.write(Buffer.from('[  OK  ] Reached target Multi-User System.\r\n'));
    expect(await seenA).to.equal('[  OK  ] Reached target Multi-User System.\r\n');
    expect(await seenB).to.equal('[  OK  ] Reached target Multi-User System.\r\n');
  });

  it('a late connection first sees what the console printed before it came, from a whole line on', async () => {
    await listen();
    // More than the scrollback holds: the oldest lines go, and the first one shown is whole.
    const line = (i: number): string => `[   ${String(i).padStart(5, '0')}] dracut-initqueue: still waiting for the root\r\n`;
    let all = '';
    for (let i = 0; all.length < SCROLLBACK_BYTES * 2; i++) all += line(i);
    all += 'Press Enter for maintenance\r\n(or press Control-D to continue): ';
    output.write(all);
    await new Promise((r) => setImmediate(r));
    const s = await connect(path);
    sockets.push(s);
    let seen = '';
    await new Promise<void>((resolve) => s.on('data', (d: Buffer) => ((seen += d.toString()), seen.endsWith('continue): ') && resolve())));
    expect(seen.length).to.be.at.most(SCROLLBACK_BYTES).and.above(SCROLLBACK_BYTES - 200);
    expect(seen).to.match(/^\[ {3}\d{5}\] dracut-initqueue/);
    expect(all.endsWith(seen)).to.equal(true);
  });

  it('replaces a stale socket file left by a crashed run', async () => {
    writeFileSync(path, 'stale');
    await listen();
    const s = await client();
    expect(s.destroyed).to.equal(false);
  });

  it('close() disconnects clients, stops reading the console and removes the socket file', async () => {
    const relay = await ConsoleRelay.listen(path, output, input);
    const s = await client();
    expect(relay.connections).to.equal(1);
    expect(existsSync(path)).to.equal(true);
    expect(output.listenerCount('data')).to.equal(1);
    await relay.close();
    await closed(s);
    expect(existsSync(path)).to.equal(false);
    expect(output.listenerCount('data')).to.equal(0);
    await relay.close(); // twice: a client's stop and the lab's may both close it
    await new Promise<void>((resolve, reject) => {
      const late = createConnection(path);
      late.once('connect', () => reject(new Error('connected after close()')));
      late.once('error', () => resolve());
    });
  });
});

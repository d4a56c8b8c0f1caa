import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from './deadline';
import { DeadlineError, QmpError } from './errors';
import { QmpClient, type QmpEvent } from './qmp-client';

type Msg = { execute: string; arguments?: Record<string, unknown>; id?: unknown };
/** Returns the reply to send (the id is added), or undefined to stay silent. */
type Handler = (msg: Msg, sock: Socket) => Record<string, unknown> | undefined;

const GREETING = { QMP: { version: { qemu: { micro: 0, minor: 2, major: 8 }, package: '' }, capabilities: ['oob'] } };

/** A QMP server that speaks just enough of qmp-spec.rst to exercise the client. */
class FakeQmp {
  readonly received: Msg[] = [];
  readonly sockets: Socket[] = [];
  handler: Handler = () => ({ return: {} });
  private server?: Server;

  constructor(readonly path: string) {}

  listen(): Promise<void> {
    this.server = createServer((sock) => {
      this.sockets.push(sock);
      sock.write(`${JSON.stringify(GREETING)}\r\n`);
      let buf = '';
      sock.on('data', (chunk) => {
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as Msg;
          buf = buf.slice(nl + 1);
          this.received.push(msg);
          const reply = msg.execute === 'qmp_capabilities' ? { return: {} } : this.handler(msg, sock);
          if (reply) sock.write(`${JSON.stringify({ ...reply, id: msg.id })}\r\n`);
        }
      });
      sock.on('error', () => undefined);
    });
    return new Promise((resolve) => this.server?.listen(this.path, resolve));
  }

  /** Sends raw text to the newest client, e.g. several messages or half of one. */
  write(text: string): void {
    this.sockets[this.sockets.length - 1].write(text);
  }

  event(event: string, data?: Record<string, unknown>): void {
    this.write(`${JSON.stringify({ event, data, timestamp: { seconds: 1, microseconds: 2 } })}\r\n`);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('QmpClient', function () {
  this.timeout(2000);
  let dir: string;
  let fake: FakeQmp;
  let client: QmpClient | undefined;

  const connect = async (logFile?: string): Promise<QmpClient> => {
    client = await QmpClient.connect(fake.path, { deadline: Deadline.after(1000, 'qmp connect'), logFile });
    return client;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-qmp-'));
    fake = new FakeQmp(join(dir, 'qmp.sock'));
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the greeting and negotiates capabilities', async () => {
    await fake.listen();
    const c = await connect();
    expect(c.greeting).to.deep.equal(GREETING);
    expect(fake.received.map((m) => m.execute)).to.deep.equal(['qmp_capabilities']);
  });

  it('correlates replies by id, even out of order', async () => {
    await fake.listen();
    const held: [Msg, Socket][] = [];
    fake.handler = (msg, sock) => {
      held.push([msg, sock]);
      if (held.length < 2) return undefined;
      // Answer the second command first, then the first.
      for (const [m, s] of held.reverse()) s.write(`${JSON.stringify({ return: { for: m.execute }, id: m.id })}\n`);
      return undefined;
    };
    const c = await connect();
    const [a, b] = await Promise.all([c.execute('query-a'), c.execute('query-b', { x: 1 })]);
    expect(a).to.deep.equal({ for: 'query-a' });
    expect(b).to.deep.equal({ for: 'query-b' });
    const sent = fake.received.filter((m) => m.execute !== 'qmp_capabilities');
    expect(sent[1].arguments).to.deep.equal({ x: 1 });
    expect(sent[0].id).to.not.equal(sent[1].id);
  });

  it('rejects with QmpError carrying class and desc on an error reply', async () => {
    await fake.listen();
    fake.handler = () => ({ error: { class: 'DeviceNotFound', desc: "Device 'nope' not found" } });
    const c = await connect();
    const err = await c.setLink('nope', false).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(QmpError);
    const qe = err as QmpError;
    expect(qe.errorClass).to.equal('DeviceNotFound');
    expect(qe.desc).to.equal("Device 'nope' not found");
    expect(qe.command).to.equal('set_link');
    expect(qe.message).to.contain('set_link').and.contain('DeviceNotFound');
    expect(fake.received[1]).to.deep.include({ execute: 'set_link', arguments: { name: 'nope', up: false } });
  });

  it('handles messages split across chunks and several per chunk', async () => {
    await fake.listen();
    fake.handler = (msg, sock) => {
      const reply = JSON.stringify({ return: { running: true, status: 'running' }, id: msg.id });
      const ev = JSON.stringify({ event: 'RESET', data: { guest: true } });
      const all = `${ev}\r\n${reply}\r\n${ev}\r\n`;
      sock.write(all.slice(0, 7));
      setTimeout(() => sock.write(all.slice(7)), 20);
      return undefined;
    };
    const c = await connect();
    expect(await c.queryStatus()).to.deep.equal({ running: true, status: 'running' });
    await new Promise((r) => setTimeout(r, 10));
    expect(c.events().map((e) => e.event)).to.deep.equal(['RESET', 'RESET']);
  });

  it('records events with a cursor so waits see only later ones', async () => {
    await fake.listen();
    const c = await connect();
    const seen: QmpEvent[] = [];
    c.on('event', (ev: QmpEvent) => seen.push(ev));
    fake.event('RESET', { guest: false });
    // Recorded RESETs count when no cursor is given.
    const first = await c.waitForEvent('RESET', Deadline.after(500, 'first reset'));
    expect(first.data).to.deep.equal({ guest: false });
    expect(first.timestamp).to.deep.equal({ seconds: 1, microseconds: 2 });
    const cursor = c.eventCursor();
    expect(cursor).to.equal(1);
    const second = c.waitForEvent('RESET', Deadline.after(500, 'second reset'), cursor);
    fake.event('STOP');
    fake.event('RESET', { guest: true });
    expect((await second).data).to.deep.equal({ guest: true });
    expect(seen.map((e) => e.event)).to.deep.equal(['RESET', 'STOP', 'RESET']);
    expect(c.eventCursor()).to.equal(3);
  });

  it('times out an event wait with a DeadlineError naming the event', async () => {
    await fake.listen();
    const c = await connect();
    fake.event('RESET');
    await c.waitForEvent('RESET', Deadline.after(500, 'x'));
    const err = await c.waitForEvent('RESET', Deadline.after(50, 'reboot c1'), c.eventCursor()).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeadlineError);
    expect((err as Error).message).to.contain('RESET').and.contain('reboot c1');
  });

  it('rejects a command with QmpError when its deadline passes', async () => {
    await fake.listen();
    fake.handler = () => undefined;
    const c = await connect();
    const err = await c.execute('query-status', undefined, Deadline.after(50, 'status check')).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(QmpError);
    expect((err as Error).message).to.contain('query-status').and.contain('no reply within 50 ms');
  });

  it('rejects pending commands and event waits when the socket closes', async () => {
    await fake.listen();
    fake.handler = () => undefined;
    const c = await connect();
    let closed = false;
    c.on('close', () => (closed = true));
    const cmd = c.execute('query-status').catch((e: unknown) => e);
    const ev = c.waitForEvent('SHUTDOWN', Deadline.after(1000, 'shutdown')).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    fake.sockets[0].destroy();
    expect(await cmd).to.be.instanceOf(QmpError).with.property('message').that.contains('closed');
    expect(await ev).to.be.instanceOf(QmpError);
    expect(closed).to.equal(true);
    expect(await c.execute('query-status').catch((e: unknown) => e)).to.be.instanceOf(QmpError);
  });

  it('quit resolves when QEMU closes the socket without replying', async () => {
    await fake.listen();
    fake.handler = (msg, sock) => {
      if (msg.execute === 'quit') sock.end();
      return undefined;
    };
    const c = await connect();
    await c.quit(Deadline.after(1000, 'quit'));
    expect(fake.received.map((m) => m.execute)).to.deep.equal(['qmp_capabilities', 'quit']);
    await c.quit(); // already closed: nothing to do
  });

  it('quit resolves on a normal reply', async () => {
    await fake.listen();
    const c = await connect();
    await c.quit(Deadline.after(1000, 'quit'));
  });

  it('quit rejects when QEMU neither replies nor closes', async () => {
    await fake.listen();
    fake.handler = () => undefined;
    const c = await connect();
    const err = await c.quit(Deadline.after(50, 'quit')).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(QmpError);
  });

  it('retries until the socket appears', async () => {
    const pending = QmpClient.connect(fake.path, { deadline: Deadline.after(1500, 'qmp connect') });
    await new Promise((r) => setTimeout(r, 150));
    await fake.listen();
    client = await pending;
    expect(client.greeting).to.deep.equal(GREETING);
  });

  it('gives up with QmpError when the socket never appears', async () => {
    const t0 = performance.now();
    const err = await QmpClient.connect(fake.path, { deadline: Deadline.after(150, 'qemu c1 qmp') }).catch((e: unknown) => e);
    expect(performance.now() - t0).to.be.within(140, 600);
    expect(err).to.be.instanceOf(QmpError);
    expect((err as Error).message).to.contain(fake.path).and.contain('ENOENT').and.contain('qemu c1 qmp');
  });

  it('gives up with QmpError when no greeting arrives', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(fake.path, r));
    try {
      const err = await QmpClient.connect(fake.path, { deadline: Deadline.after(100, 'greeting') }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(QmpError);
      expect((err as Error).message).to.contain('greeting');
    } finally {
      server.close();
    }
  });

  it('logs both directions to the log file, timestamped', async () => {
    await fake.listen();
    const logFile = join(dir, 'qmp.log');
    const c = await connect(logFile);
    await c.systemReset();
    c.close();
    c.close(); // idempotent
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
    for (const l of lines) expect(l).to.match(stamp);
    const text = lines.join('\n');
    expect(text).to.contain('<< {"QMP":');
    expect(text).to.match(/>> \{"execute":"qmp_capabilities","id":"[^"]+"\}/);
    expect(text).to.match(/>> \{"execute":"system_reset","id":/);
    expect(text).to.contain('<< {"return":{}');
  });
});

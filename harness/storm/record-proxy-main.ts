import { createConnection, createServer, type Socket } from 'node:net';
import { NbdWireTap } from './wire-tap';

/*
 * The recording relay, run by RecordProxy inside the server container's network
 * namespace (nsenter -n): it listens on LISTEN_PORT, where an iptables REDIRECT sends
 * the clients' NBD connections, and relays each to nbd-server at UPSTREAM (the server's
 * own lab address, which nbd-server's authfile admits). The bytes pass unchanged; a
 * wire tap frames them. Each connection, once closed (or at SIGTERM), is one JSON line
 * on stdout.
 *
 *   record-proxy-main LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT
 */

const [listenPort, upHost, upPort] = process.argv.slice(2);
let next = 1;
const open = new Set<() => void>();

function report(id: number, acceptedAt: number, from: string, tap: NbdWireTap, end: string): void {
  const c = tap.conn;
  const line = {
    id,
    acceptedAt,
    from,
    end,
    ...(tap.lost ? { lost: tap.lost } : {}),
    options: c.options,
    exportName: c.exportName,
    transmissionT: c.transmissionT,
    maxInFlight: c.maxInFlight,
    requests: c.requests.map((r) => [round(r.t), r.type, Number(r.offset), r.length, r.replyT === undefined ? null : round(r.replyT), r.error ?? 0]),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

const server = createServer((down: Socket) => {
  const id = next++;
  const acceptedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const now = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  const from = `${down.remoteAddress ?? '?'}:${down.remotePort ?? 0}`;
  const tap = new NbdWireTap();
  const up = createConnection({ host: upHost as string, port: Number(upPort) });
  down.setNoDelay(true);
  up.setNoDelay(true);
  let done = false;
  const finish = (end: string): void => {
    if (done) return;
    done = true;
    open.delete(flush);
    report(id, acceptedAt, from, tap, end);
    down.destroy();
    up.destroy();
  };
  const flush = (): void => finish('recording stopped');
  open.add(flush);
  down.on('data', (b: Buffer) => {
    tap.fromClient(b, now());
    if (!up.write(b)) down.pause();
  });
  up.on('data', (b: Buffer) => {
    tap.fromServer(b, now());
    if (!down.write(b)) up.pause();
  });
  up.on('drain', () => down.resume());
  down.on('drain', () => up.resume());
  down.on('close', () => finish('client closed'));
  up.on('close', () => finish('server closed'));
  down.on('error', () => undefined);
  up.on('error', () => undefined);
});

server.listen(Number(listenPort), '0.0.0.0', () => process.stdout.write(`${JSON.stringify({ listening: Number(listenPort) })}\n`));
process.on('SIGTERM', () => {
  for (const f of [...open]) f();
  server.close();
  process.stdout.write('', () => process.exit(0));
});

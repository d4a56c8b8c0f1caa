#!/usr/bin/env node
// A stand-in for qemu-system-x86_64 in the wrapper's tests: it takes QEMU's command
// line, serves QMP on the -qmp socket, prints to its serial console (stdout) and echoes
// what is typed there. FAKE_QEMU says how it ends: quit (on QMP quit), deaf (ignores
// quit, ends on SIGTERM), stubborn (ignores quit and SIGTERM), die (exits at start).
import fs from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const mode = process.env.FAKE_QEMU || 'quit';
const args = process.argv.slice(2);
const valueOf = (flag) => args[args.indexOf(flag) + 1];

if (mode === 'die') {
  process.stderr.write('qemu-system-x86_64: -netdev tap: could not configure /dev/net/tun: Operation not permitted\n');
  process.exit(1);
}
if (mode === 'stubborn') process.on('SIGTERM', () => undefined);

const qmp = /^unix:([^,]+)/.exec(valueOf('-qmp'))[1];
fs.rmSync(qmp, { force: true });
const server = net.createServer((s) => {
  s.write(`${JSON.stringify({ QMP: { version: { qemu: { major: 8, minor: 0, micro: 0 } }, capabilities: [] } })}\r\n`);
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.execute === 'quit' && mode !== 'quit') continue;
      s.write(`${JSON.stringify({ return: {}, id: msg.id })}\r\n`);
      if (msg.execute === 'quit') setTimeout(() => process.exit(0), 10);
    }
  });
});
server.listen(qmp, () => process.stdout.write(`fake QEMU ${valueOf('-name')} ready\n`));
process.stdin.on('data', (d) => process.stdout.write(d));

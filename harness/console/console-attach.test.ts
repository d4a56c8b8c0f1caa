import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Deadline } from '../common/deadline';
import { attachConsole, type AttachEnd } from './console-attach';
import { ConsoleRelay } from '../qemu-ts-wrapper';

/** A person's terminal: keys in, screen out, a size that can change (not a TTY: no raw mode here). */
function terminal(cols: number, rows: number): { input: PassThrough; output: PassThrough & { columns: number; rows: number }; screen: () => string; notices: string[] } {
  const output = Object.assign(new PassThrough(), { columns: cols, rows });
  let screen = '';
  output.on('data', (d: Buffer) => (screen += d.toString()));
  return { input: new PassThrough(), output, screen: () => screen, notices: [] };
}

/** Resolves once `read()` holds `text`. */
async function seen(read: () => string, text: string): Promise<void> {
  // Generous: unit tests share the host's cores with TCG guests.
  const d = Deadline.after(5000, `'${text}' to arrive`);
  while (!read().includes(text)) {
    if (d.expired()) throw new Error(`never saw ${JSON.stringify(text)} in ${JSON.stringify(read())}`);
    await d.sleep(5);
  }
}

describe('attachConsole: a terminal on a console socket', function () {
  this.timeout(15_000);
  let dir: string;
  let relay: ConsoleRelay;
  let guestOut: PassThrough;
  let typed: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-attach-'));
    guestOut = new PassThrough();
    const guestIn = new PassThrough();
    typed = '';
    guestIn.on('data', (d: Buffer) => (typed += d.toString('latin1')));
    relay = await ConsoleRelay.listen(join(dir, 'c1.sock'), guestOut, guestIn);
  });

  afterEach(async () => {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(t: ReturnType<typeof terminal>): Promise<AttachEnd> {
    return attachConsole({
      socket: relay.path,
      deadline: Deadline.after(2000, 'connect'),
      input: t.input as unknown as NodeJS.ReadStream,
      output: t.output as unknown as NodeJS.WriteStream,
      notice: (l) => t.notices.push(l),
    });
  }

  it('shows the console, sends keys, tells an idle prompt the size, and detaches on Ctrl-] q with the lab left serving', async () => {
    guestOut.write('Debian GNU/Linux 12 c1 ttyS0\r\nroot@c1:~# ');
    const t = terminal(100, 30);
    const ended = start(t);
    // The scrollback ends at an idle prompt: the size goes in at once.
    await seen(() => typed, 'stty rows 30 cols 100\r');
    expect(t.screen()).to.include('root@c1:~# ');
    t.input.write('uname -r\r');
    await seen(() => typed, 'uname -r\r');
    guestOut.write('uname -r\r\n6.1.0-50-amd64\r\nroot@c1:~# ');
    await seen(t.screen, '6.1.0-50-amd64');
    // A resize while at the prompt: typed at once.
    Object.assign(t.output, { columns: 120, rows: 40 });
    t.output.emit('resize');
    await seen(() => typed, 'stty rows 40 cols 120\r');
    t.input.write('\x1dq');
    expect(await ended).to.equal('detached');
    expect(t.notices).to.include('detached; the lab runs on');
    expect(typed).to.not.include('\x1d');
    expect(relay.connections === 0 || relay.connections === 1).to.equal(true);
    // Still served: another attach gets the console.
    const u = terminal(80, 24);
    const again = start(u);
    await seen(u.screen, '6.1.0-50-amd64');
    await relay.close();
    expect(await again).to.equal('closed');
    expect(u.notices).to.include('the console closed: its lab stopped');
  });

  it('a resize inside a full-screen program waits for the shell\'s next prompt', async () => {
    guestOut.write('root@c1:~# ');
    const t = terminal(80, 24);
    const ended = start(t);
    await seen(() => typed, 'stty rows 24 cols 80\r');
    t.input.write('vi x\r');
    guestOut.write('vi x\r\n\x1b[?1049h\x1b[H~\r\n~');
    await seen(t.screen, '~\r\n~');
    Object.assign(t.output, { columns: 132, rows: 50 });
    t.output.emit('resize');
    await Deadline.after(100, 'settle').sleep(100);
    expect(typed).to.not.include('stty rows 50');
    guestOut.write('\x1b[?1049lroot@c1:~# ');
    await seen(() => typed, 'stty rows 50 cols 132\r');
    t.input.write('\x1dq');
    expect(await ended).to.equal('detached');
  });

  it('a socket nobody serves: a HarnessError naming it', async () => {
    const t = terminal(80, 24);
    const e = await attachConsole({ socket: join(dir, 'none.sock'), deadline: Deadline.after(2000, 'connect'), input: t.input as unknown as NodeJS.ReadStream, output: t.output as unknown as NodeJS.WriteStream, notice: () => undefined }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(e?.message).to.match(/cannot connect to the console socket .*none\.sock: ENOENT/);
  });
});

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Deadline } from './deadline';
import { ConsoleLogError, ConsoleWaitError } from './errors';
import { ConsoleLog, type ConsoleMatch, type FailPattern } from './console-log';

/** A caller's failure patterns, given to the console as the default of its waits. */
const FAILS: FailPattern[] = [
  { name: 'kernel-panic', pattern: /Kernel panic - not syncing/ },
  { name: 'emergency-shell', pattern: /Entering emergency mode|dracut Emergency Shell/ },
];

const soon = (what = 'test wait'): Deadline => Deadline.after(1000, what);
const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Settles to the match, the error, or 'pending' if neither happened yet. */
async function state(p: Promise<ConsoleMatch>): Promise<ConsoleMatch | unknown> {
  return Promise.race([p.catch((e: unknown) => e), tick(10).then(() => 'pending')]);
}

function waitError(p: Promise<unknown>): Promise<ConsoleWaitError> {
  return p.then(
    () => expect.fail('wait should have failed'),
    (e: unknown) => {
      expect(e).to.be.instanceOf(ConsoleWaitError);
      return e as ConsoleWaitError;
    },
  );
}

describe('ConsoleLog', function () {
  this.timeout(2000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-console-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('joins lines split across chunks, including a split UTF-8 character', () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    const u = Buffer.from('Grüße\n');
    con.push('Welcome to Deb');
    con.push('ian GNU/Linux 12!\nsec');
    con.push(u.subarray(0, 3)); // ends inside the two-byte ü
    con.push(u.subarray(3));
    con.push('ond\n');
    expect(con.lines().map((l) => l.text)).to.deep.equal(['Welcome to Debian GNU/Linux 12!', 'secGrüße', 'ond']);
    expect(con.lines().map((l) => l.index)).to.deep.equal([0, 1, 2]);
  });

  it('matches a line completed by a later chunk', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    const p = con.waitFor(/Started ([\w-]+)\.service/, { deadline: soon() });
    con.push('[  OK  ] Started nb');
    expect(await state(p)).to.equal('pending');
    con.push('d-server.service\n');
    const m = (await p) as ConsoleMatch;
    expect(m.match[1]).to.equal('nbd-server');
    expect(m.line.text).to.equal('[  OK  ] Started nbd-server.service');
  });

  it('matches a prompt that has no trailing newline, as its bytes arrive', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('Debian GNU/Linux 12 c1 ttyS0\n\n');
    const p = con.waitFor(/login: $/, { deadline: soon() });
    for (const ch of 'c1 login') con.push(ch);
    expect(await state(p)).to.equal('pending');
    con.push(': ');
    const m = await p;
    expect(m.line.text).to.equal('c1 login: ');
    expect(m.line.index).to.equal(2);
    expect(con.lines().at(-1)?.text).to.equal('c1 login: ');
    expect(con.tail(1)[0]).to.match(/^\[ +\d+\.\d{3}\] c1 login: $/);
  });

  it('strips colour, cursor and title escapes, \\r, backspaces and NULs', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mnbd.service\x1b[0m.\r\n');
    con.push('\x1b[0;3'); // escape split across chunks
    con.push('1mFAILED\x1b[0m\x1b[?25l\x1b(B\x1b=\r\n');
    con.push('\x1b]0;root@c1: ~\x07root@c1:~# \x00x\by\x1b]2;t\x1b\\z\x9b1mq\n');
    con.push('tab\tkept\x1b[K\x1b[2J\x1b[1;1H\n');
    expect(con.lines().map((l) => l.text)).to.deep.equal([
      '[  OK  ] Started nbd.service.',
      'FAILED',
      'root@c1:~# xyzq',
      'tab\tkept',
    ]);
    const m = await con.waitFor('[  OK  ] Started nbd.service.', { deadline: soon() });
    expect(m.line.index).to.equal(0);
  });

  it('does not let a broken escape swallow the following lines', () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('a\x1b[12\nnext line\n\x1b]title without end\nvisible\n');
    expect(con.lines().map((l) => l.text)).to.deep.equal(['a', 'next line', '', 'visible']);
  });

  it('consumes from a cursor, so output before a reboot never satisfies a later wait', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('[  OK  ] Reached target Multi-User System.\nc1 login: ');
    const first = await con.waitFor(/login: $/, { deadline: soon() });
    expect(con.cursor()).to.equal(con.position());

    // The old prompt and the old boot messages are behind the cursor now.
    const again = con.waitFor(/login: $/, { deadline: soon() });
    const target = con.waitFor(/Reached target Multi-User/, { deadline: soon() });
    con.push('\nreboot: Restarting system\n');
    expect(await state(again)).to.equal('pending');
    expect(await state(target)).to.equal('pending');
    con.push('Linux version 6.1.0\n[  OK  ] Reached target Multi-User System.\nc1 login: ');
    const second = await again;
    expect(second.line.index).to.be.greaterThan(first.line.index);
    expect((await target).line.index).to.be.greaterThan(first.line.index);
  });

  it('moves the cursor to just after the match, within a line', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('one two one\n');
    const a = await con.waitFor('one', { deadline: soon() });
    expect(a.match.index).to.equal(0);
    const b = await con.waitFor('one', { deadline: soon() });
    expect(b.match.index).to.equal(8);
    expect(b.line.index).to.equal(0);
    expect(await state(con.waitFor('one', { deadline: soon() }))).to.equal('pending');
  });

  it('skipToEnd moves the cursor past everything received', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('old prompt# ');
    con.skipToEnd();
    const p = con.waitFor(/# $/, { deadline: soon() });
    expect(await state(p)).to.equal('pending');
    con.push('\nnew prompt# ');
    expect((await p).line.text).to.equal('new prompt# ');
  });

  it('treats a string pattern literally', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('axb\n');
    const p = con.waitFor('a.b', { deadline: soon() });
    expect(await state(p)).to.equal('pending');
    con.push('a.b\n');
    expect((await p).line.index).to.equal(1);
  });

  it('ends a wait at once when a failure pattern shows up after the cursor', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('Kernel panic - not syncing: from a previous boot\nc1 login: ');
    await con.waitFor(/login: $/, { deadline: soon(), failOn: [] });

    const p = con.waitFor(/root@c1:~# $/, { deadline: Deadline.after(10_000, 'shell after login') });
    expect(await state(p)).to.equal('pending'); // the old panic is behind the cursor
    const t0 = performance.now();
    con.push('\n[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n');
    const err = await waitError(p);
    expect(performance.now() - t0).to.be.below(100);
    expect(err.reason).to.equal('failure-pattern');
    expect(err.matchedFailure).to.equal('kernel-panic');
    expect(err.message).to.contain('/root@c1:~# $/').and.contain('shell after login').and.contain('Unable to mount root fs');
  });

  it('uses the default failure patterns unless told otherwise, and lets the wanted pattern win', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    con.push('dracut Emergency Shell\n');
    const err = await waitError(con.waitFor(/login:/, { deadline: soon() }));
    expect(err.matchedFailure).to.equal('emergency-shell');
    const m = await con.waitFor(/Emergency Shell/, { deadline: soon() });
    expect(m.line.index).to.equal(0);
  });

  it('ends a wait when the process exits', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    let exit!: () => void;
    const exited = new Promise<void>((r) => (exit = r));
    const p = con.waitFor(/login:/, { deadline: Deadline.after(10_000, 'boot'), exited });
    con.push('qemu-system-x86_64: terminating on signal 15\n');
    expect(await state(p)).to.equal('pending');
    exit();
    const err = await waitError(p);
    expect(err.reason).to.equal('exited');
    expect(err.elapsedMs).to.be.below(500);
    expect(err.message).to.contain('process exited').and.contain('terminating on signal 15');
  });

  it('lets the last output after an exit land before giving up', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    const stream = new PassThrough();
    con.attach(stream);
    const p = con.waitFor(/login:/, { deadline: soon(), exited: Promise.resolve() });
    stream.write('Kernel panic - not syncing: Attempted to kill init!\n');
    stream.end();
    const err = await waitError(p);
    expect(err.reason).to.equal('failure-pattern');
  });

  it("fails waits with 'closed' when the stream ends, and flushes the last partial line", async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    const stream = new PassThrough();
    con.attach(stream);
    expect(() => con.attach(new PassThrough())).to.throw(/already attached/);
    const p = con.waitFor(/login:/, { deadline: soon(), what: 'boot to login' });
    stream.write('last words');
    stream.end();
    const err = await waitError(p);
    expect(err.reason).to.equal('closed');
    expect(con.lines().map((l) => l.text)).to.deep.equal(['last words']);
    const late = await waitError(con.waitFor(/anything/, { deadline: soon() }));
    expect(late.reason).to.equal('closed');
  });

  it('times out with a message naming the pattern, the step, the time, and the last 40 lines', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1' });
    for (let i = 1; i <= 100; i++) con.push(`boot line ${i}\n`);
    con.push('c1 login: ');
    const t0 = performance.now();
    const err = await waitError(con.waitFor(/root@c1:~# $/, { deadline: Deadline.after(60, 'client c1 login'), failOn: [] }));
    expect(performance.now() - t0).to.be.within(50, 500);
    expect(err.reason).to.equal('timeout');
    expect(err.pattern).to.equal('/root@c1:~# $/');
    expect(err.consoleTail).to.have.length(40);
    const [head, ...rest] = err.message.split('\n');
    expect(head).to.match(/^c1: timed out after 0\.\d s waiting for \/root@c1:~# \$\/ \(client c1 login\)$/);
    expect(rest[0]).to.equal('--- last 40 console lines ---');
    expect(rest).to.have.length(41);
    expect(rest[1]).to.match(/\] boot line 62$/);
    expect(rest[40]).to.match(/\] c1 login: $/);
  });

  it('stays bounded when flooded, and waits still work', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', maxLines: 1000 });
    const pending = con.waitFor(/^flood over$/, { deadline: soon() });
    const block = Array.from({ length: 1000 }, (_, i) => `\x1b[1mflood ${i} some text to make the line longer\x1b[0m`).join('\n') + '\n';
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) con.push(block);
    con.push('flood over\n');
    expect(performance.now() - t0).to.be.below(1500);
    expect((await pending).line.index).to.equal(200_000);
    const lines = con.lines();
    expect(lines.length).to.be.at.most(1000);
    expect(lines.at(-1)?.text).to.equal('flood over');
    expect(lines[0].index).to.equal(200_001 - 1000);
    con.push('after flood\n');
    expect((await con.waitFor('after flood', { deadline: soon() })).line.index).to.equal(200_001);
  });

  it('splits a run longer than maxLineLength', () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', maxLineLength: 10 });
    con.push('x'.repeat(25) + '\n' + 'y'.repeat(10) + '\n');
    expect(con.lines().map((l) => l.text)).to.deep.equal(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5), 'y'.repeat(10)]);
  });

  it('writes completed lines to the log file with timestamps since the start', async () => {
    const logFile = join(dir, 'c1.console.log');
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', logFile, startedAt: performance.now() - 12_345 });
    con.push('\x1b[1mfirst\x1b[0m\r\nsecond\nc1 login: ');
    await con.close();
    const lines = readFileSync(logFile, 'utf8').split('\n');
    expect(lines[0]).to.match(/^\[ {2}12\.3\d\d\] first$/);
    expect(lines[1]).to.match(/^\[ {2}12\.3\d\d\] second$/);
    expect(lines[2]).to.match(/^\[ {2}12\.3\d\d\] c1 login: $/);
    expect(con.lines()[0].t).to.be.within(12_345, 13_000);
  });

  it('synced(): every complete line so far is in the file while the console stays open, the partial one not yet', async () => {
    const logFile = join(dir, 'synced.console.log');
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', logFile });
    // The report reads the log while the guest runs: the failing line is often the last in.
    for (let i = 0; i < 200; i++) con.push(`line ${i}\n`);
    con.push('Could not boot: Error 0x2a818006\nCould no');
    await con.synced(Deadline.after(2000, 'log synced'));
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    expect(lines).to.have.length(201);
    expect(lines.at(-1)).to.match(/\] Could not boot: Error 0x2a818006$/);
    con.push('t\n');
    await con.synced(Deadline.after(2000, 'log synced'));
    expect(readFileSync(logFile, 'utf8').trimEnd().split('\n').at(-1)).to.match(/\] Could not$/);
    await con.close();
  });

  it('a log file on a full disk (/dev/full) fails logFailed with a ConsoleLogError that says the log is incomplete', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', logFile: '/dev/full' });
    con.push('iPXE 1.21\nDHCP ok\n');
    const e = await Promise.race([con.logFailed.catch((err: unknown) => err), tick(2000).then(() => 'still pending')]);
    expect(e).to.be.instanceOf(ConsoleLogError);
    const err = e as ConsoleLogError;
    expect(err.code).to.equal('ENOSPC');
    expect(err.message).to.match(/^c1: the console log \/dev\/full could not be written whole: it stops after 0 bytes \(ENOSPC\)$/);
    expect(con.logIncomplete).to.match(/could not be written whole/);
    // The console itself goes on: waits still see what QEMU prints.
    expect(con.lines().map((l) => l.text)).to.deep.equal(['iPXE 1.21', 'DHCP ok']);
    await con.close();
  });

  it('a log file that is written whole never fails logFailed', async () => {
    const con = new ConsoleLog({ failOn: FAILS, name: 'c1', logFile: join(dir, 'ok.log') });
    con.push('fine\n');
    await con.close();
    expect(await Promise.race([con.logFailed.catch(() => 'failed'), tick(50).then(() => 'pending')])).to.equal('pending');
    expect(con.logIncomplete).to.equal(undefined);
  });

  it('waits with no failure patterns of their own nor of the console run into their deadline', async () => {
    const con = new ConsoleLog({ name: 'c1' });
    const p = con.waitFor(/login: $/, { deadline: Deadline.after(50, 'login') });
    con.push('Kernel panic - not syncing: VFS\n');
    expect((await waitError(p)).reason).to.equal('timeout');
  });
});

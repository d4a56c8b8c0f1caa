import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { ConsoleWaitError } from '../common/errors';
import { ConsoleLog, type ConsoleMatch, type FailPattern } from '../qemu-ts-wrapper';
import { BOOT_FAIL_PATTERNS, RESCUE_PROMPT, RESCUE_SHELL, SHELL_PROMPT, bootStages, leaseIpOf, type StageDef } from './stages';
import { FIXTURES_DIR } from '../common/paths';
import { CLIENT_DIMENSIONS, CLIENT_KINDS, clientSpec, type UnionMethod } from '../client/client-spec';
import { BOOT_STAGE_IDS, STACK_STAGE_IDS } from '../results/stage-ids';
import { bareBootStages, bootPoints, sessionStage } from './stages';
import { stageKind } from '../results/stage-kinds';

/**
 * A real union boot of c1 (PXE, NBD root, unionfs-fuse, autologin, one command), as
 * the harness logged it, with the "[  12.345] " prefixes stripped. Sent as a serial
 * console sends it: \r\n line ends, and the last prompt without a newline.
 */
const fixture = (name: string): string => readFileSync(join(FIXTURES_DIR, 'consoles', name), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');
const BOOT = fixture('console-union.log');
const BOOT_LINES = BOOT.split('\r\n');
/** A later real union boot: kernel and initramfs over HTTP, iPXE's lease as a static ip=. */
const HTTP_BOOT = fixture('console-union-http.log');
/** An ltsp client's boot: the lab's kernel 6.1.176-ltsp-lab and dracut's shell init, fetched from boot/ltsp/. */
const LTSP_BOOT = fixture('console-ltsp-union-http.log');

/** No deadline, so no timers: a wait ends by matching, by a failure pattern, or at end of input. */
const NO_LIMIT = Deadline.after(Infinity, 'stage test');

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `text` as QEMU's stdout delivers it: bytes cut into pieces of `size`, so chunk ends
 * fall inside lines, words and the UTF-8 of systemd's "…".
 */
function chunks(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/**
 * Feeds `text` into a console chunk by chunk while waiting for each pattern in turn,
 * as a boot does; each wait is started before the output it matches has arrived.
 * Input that runs out ends the console, so a wait that cannot match fails 'closed'.
 */
async function follow(text: string, patterns: { id: string; pattern: RegExp }[], size = 61, failOn: readonly FailPattern[] = BOOT_FAIL_PATTERNS) {
  const con = new ConsoleLog({ name: 'c1' });
  const pieces = chunks(text, size);
  let next = 0;
  const matches = new Map<string, ConsoleMatch>();
  for (const { id, pattern } of patterns) {
    let settled = false;
    const wait = con.waitFor(pattern, { deadline: NO_LIMIT, failOn, what: id });
    wait.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      if (next < pieces.length) con.push(pieces[next++] as Buffer);
      else con.end();
      await yieldToEvents();
    }
    matches.set(id, await wait);
  }
  return { con, matches };
}

function failuresIn(line: string): string[] {
  return BOOT_FAIL_PATTERNS.filter((f) => f.pattern.test(line)).map((f) => f.name);
}

function stage(id: string, union: UnionMethod = 'unionfs-fuse'): StageDef {
  const s = bootStages({ client: clientSpec({ union }) }).find((x) => x.id === id);
  if (!s) throw new Error(`no stage ${id}`);
  return s;
}

describe('boot stages against a real union boot', function () {
  this.timeout(5000);

  it('is a fixture worth testing against: a whole boot, small', () => {
    expect(BOOT.length).to.be.below(200 * 1024);
    expect(BOOT_LINES[0]).to.match(/^SeaBIOS/);
    expect(BOOT_LINES.at(-1)).to.equal('root@ltsp-client:~# ');
    expect(BOOT).to.include('…');
  });

  /** Follows a whole union boot and checks that every stage came, each on a later line. */
  async function stagesInOrder(boot: string): Promise<Map<string, ConsoleMatch>> {
    const stages = bootStages();
    const { matches } = await follow(boot, stages);
    expect([...matches.keys()]).to.deep.equal(stages.map((s) => s.id));
    const lines = [...matches.values()].map((m) => m.line.index);
    for (let i = 1; i < lines.length; i++) expect(lines[i], stages[i]?.id).to.be.greaterThan(lines[i - 1] as number);
    return matches;
  }

  it('sees every stage, in order, each on the line it is about', async () => {
    const matches = await stagesInOrder(BOOT);
    const seen = Object.fromEntries([...matches].map(([id, m]) => [id, m.match[0]]));
    expect(seen).to.deep.equal({
      ipxe: 'iPXE initialising devices',
      dhcp: 'net0: 10.213.1.197/255.255.255.0',
      fetched: 'ltsp-lab: kernel and initramfs fetched',
      kernel: 'Linux version 6.1',
      initramfs: 'Run /init as init process',
      nbd: 'nbd0: detected capacity change from 0',
      root: 'EXT4-fs (nbd0): mounted',
      union: 'ltsp-union: mounted ',
      'switch-root': 'Starting initrd-switch-root.service',
      system: 'Welcome to Debian GNU/Linux 12 (bookworm)!',
      login: 'login: root (automatic login)',
    });
    expect(matches.get('dhcp')?.match[1]).to.equal('10.213.1.197');
  });

  it('sees every stage, in order, in a boot that fetches over HTTP and sets the lease statically', async () => {
    const matches = await stagesInOrder(HTTP_BOOT);
    expect(matches.get('dhcp')?.match[1]).to.equal('10.213.1.164');
    expect(HTTP_BOOT).to.include('http://10.213.1.2/initrd.img... ok');
    expect(HTTP_BOOT).not.to.match(/dhclient|DHCPDISCOVER/);
  });

  it("sees every stage, in order, in an ltsp client's boot (the lab's kernel, dracut's shell init), and no failure", async () => {
    const matches = await stagesInOrder(LTSP_BOOT);
    expect(matches.get('switch-root')?.line.text).to.equal('dracut: Switching root');
    expect(matches.get('kernel')?.line.text).to.match(/Linux version 6\.1\.176-ltsp-lab /);
    expect(LTSP_BOOT).to.include('http://10.213.1.2/boot/ltsp/vmlinuz... ok');
    expect(LTSP_BOOT.split('\r\n').flatMap((line) => failuresIn(line).map((name) => `${name}: ${line}`))).to.deep.equal([]);
  });

  it('sees the same stages whatever the chunk size', async () => {
    const stages = bootStages();
    const lineOf = async (size: number): Promise<number[]> => [...(await follow(BOOT, stages, size)).matches.values()].map((m) => m.line.index);
    const reference = await lineOf(61);
    expect(await lineOf(2)).to.deep.equal(reference);
    expect(await lineOf(4096)).to.deep.equal(reference);
    expect(await lineOf(BOOT.length)).to.deep.equal(reference);
  });

  it('finds the root prompt after login, as it arrives without a newline, and not the command echo', async () => {
    const { con, matches } = await follow(BOOT, [...bootStages(), { id: 'prompt', pattern: SHELL_PROMPT }]);
    expect(con.lines().map((l) => l.text)).to.deep.equal(BOOT_LINES);
    const prompt = matches.get('prompt') as ConsoleMatch;
    expect(prompt.line.text).to.equal('root@ltsp-client:~# ');
    expect(prompt.line.index).to.equal(con.lines().at(-1)?.index);
    expect(prompt.line.index).to.equal(BOOT_LINES.length - 1);
    expect(SHELL_PROMPT.test("root@ltsp-client:~# printf '=%s=\\n' LTSPBEGIN1; findmnt -n -o FSTYPE,SOURCE /")).to.equal(false);
    expect(SHELL_PROMPT.test('root@c1:/tmp# ')).to.equal(true);
    // A kernel message written while the shell waits shares the prompt's line.
    expect(SHELL_PROMPT.test('root@ltsp-client:~# [   28.577123] block nbd0: Receive control failed (result -32)')).to.equal(true);
    expect(SHELL_PROMPT.test('user@ltsp-client:~$ ')).to.equal(false);
  });

  it("takes switch_root from the ltsp client's shell init too (dracut's own info line)", () => {
    const s = stage('switch-root');
    expect(s.pattern.test('[    9.87] dracut: Switching root')).to.equal(true);
    expect(s.pattern.test('dracut: Switching root')).to.equal(true);
    // Only dracut's own line: not a line that merely mentions it.
    expect(s.pattern.test('dracut: Switching root failed: no init')).to.equal(false);
  });

  it('has no failure pattern anywhere in a successful boot', async () => {
    for (const boot of [BOOT, HTTP_BOOT]) {
      expect(boot.split('\r\n').flatMap((line) => failuresIn(line).map((name) => `${name}: ${line}`))).to.deep.equal([]);
    }
    // The same through the console: a wait that never matches runs to the end of input.
    const err = await follow(BOOT, [{ id: 'never', pattern: /no such line, ever/ }]).then(
      () => expect.fail('the wait should have run out of input'),
      (e: unknown) => e as ConsoleWaitError,
    );
    expect(err).to.be.instanceOf(ConsoleWaitError);
    expect(err.reason).to.equal('closed');
  });

  it('takes the system stage from the real root, not from the initramfs banner', async () => {
    const system = stage('system').pattern;
    expect(system.test('Welcome to Debian GNU/Linux 12 (bookworm) dracut-059-4 (Initramfs)!')).to.equal(false);
    expect(system.test('Welcome to Debian GNU/Linux 12 (bookworm)!')).to.equal(true);
    // Waiting from the very start of the boot, the initramfs banner comes first and must be passed over.
    const initramfsBanner = BOOT_LINES.findIndex((l) => l.includes('(Initramfs)!'));
    const { matches } = await follow(BOOT, [{ id: 'system', pattern: system }]);
    expect(initramfsBanner).to.be.greaterThan(0);
    expect(matches.get('system')?.line.index).to.be.greaterThan(initramfsBanner);
    expect(matches.get('system')?.line.text).to.equal('Welcome to Debian GNU/Linux 12 (bookworm)!');
  });

  it('without rd.unionfs=1, waits for "ltsp-union: off" and not for a mounted union', async () => {
    const off = stage('union', 'none');
    expect(off.label).to.match(/union off/);
    expect(off.pattern.test('[   28.252393] ltsp-union: off (no rd.unionfs=1): booting the plain read-only root')).to.equal(true);
    expect(off.pattern.test('[   28.925283] ltsp-union: mounted ro=/dev/nbd0 rw=tmpfs union=/sysroot')).to.equal(false);
    expect(stage('union').pattern.test('ltsp-union: off (no rd.unionfs=1): booting the plain read-only root')).to.equal(false);

    // The same boot as the module prints it without rd.unionfs=1: the union lines become one "off" line.
    const plain = BOOT.replace(/\[ +[\d.]+\] ltsp-union: start[^]*?ltsp-union: mounted [^\r]*/, '[   28.252393] ltsp-union: off (no rd.unionfs=1): booting the plain read-only root');
    expect(plain).to.not.include('ltsp-union: mounted');
    const { matches } = await follow(plain, bootStages({ client: clientSpec({ union: 'none' }) }));
    expect(matches.get('union')?.line.text).to.match(/ltsp-union: off/);
    await follow(BOOT, bootStages({ client: clientSpec({ union: 'none' }) })).then(
      () => expect.fail('a union boot has no "ltsp-union: off" line'),
      (e: unknown) => expect((e as ConsoleWaitError).reason).to.equal('closed'),
    );
  });
});

describe('BOOT_FAIL_PATTERNS', () => {
  const failing: [string, string][] = [
    ['[    3.456789] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'kernel-panic'],
    ['Entering emergency mode. Exit the shell to continue.', 'emergency-shell'],
    ['Configuring (net0 52:54:00:12:34:56)...... No configuration methods succeeded (http://ipxe.org/040ee119)', 'ipxe-dhcp'],
    ['[   28.925283] ltsp-union: FAILED: unionfs-fuse failed to mount /sysroot', 'union-failed'],
    ['nbd-client: Error: Server closed connection', 'nbd-connect'],
    ['E: Export unknown', 'nbd-connect'],
    // nbd-client 3.24 against an oldstyle server, in the ltsp client's shell initramfs:
    // no name before it, and nothing more on the console until rd.retry runs out.
    ["[  15.541] Negotiation: .Error: It looks like you're trying to connect to an oldstyle server. This is no longer supported since nbd 3.10.", 'nbd-connect'],
    // nbd-client 3.24 on an export the server does not have: nbd-server answers NBD_OPT_GO
    // with NBD_REP_ERR_UNKNOWN "Export unknown", and nbd-client's negotiate() takes the
    // default branch, err("Unknown error returned by server. Server said: %s"), which
    // cliserv.c prints as "Error: ...". dracut's initqueue runs nbd-client, so systemd
    // puts its name on the line (compare "dracut-initqueue[396]: RTNETLINK answers" in
    // the fixture).
    ['[   25.101010] dracut-initqueue[396]: Error: Unknown error returned by server. Server said: Export unknown', 'nbd-connect'],
    ['No bootable device.', 'no-boot-device'],
    ['Could not boot image: No such file or directory (http://ipxe.org/2d0c613b)', 'ipxe-boot'],
    ['[  181.3] dracut-initqueue[396]: Warning: /dev/root does not exist', 'dracut-no-root'],
    ['[  181.4] dracut-initqueue[396]: Warning: Could not boot.', 'dracut-no-root'],
    // The ltsp client's shell initramfs (ltsp-check.sh), then dracut's die().
    ['[    5.61] ltsp-lab: missing nbd-client in the initramfs: stage nbd cannot run', 'ltsp-missing'],
    ['[    5.62] dracut: Refusing to continue', 'refusing-to-continue'],
  ];
  for (const [line, name] of failing) {
    it(`catches ${name}: ${JSON.stringify(line.slice(0, 60))}`, () => {
      expect(failuresIn(line)).to.include(name);
    });
  }

  it('ends a boot-stage wait at once when the NBD export is unknown', async () => {
    const atNbd = BOOT.indexOf('nbd0: detected capacity change');
    const broken = `${BOOT.slice(0, atNbd)}\r\n[   25.101010] dracut-initqueue[396]: Error: Unknown error returned by server. Server said: Export unknown\r\n[   25.101100] dracut-initqueue[396]: Exiting.\r\n`;
    const err = await follow(broken, bootStages()).then(
      () => expect.fail('the boot should have failed'),
      (e: unknown) => e as ConsoleWaitError,
    );
    expect(err).to.be.instanceOf(ConsoleWaitError);
    expect(err.reason).to.equal('failure-pattern');
    // Both nbd-connect and nbd-client-error match the line; the first in BOOT_FAIL_PATTERNS names it.
    expect(err.matchedFailure).to.equal('nbd-connect');
    expect(err.what).to.equal('nbd');
    expect(err.message, err.message).to.include('Server said: Export unknown');
  });
});

describe('nbd-client errors under dracut-initqueue', function () {
  it('a refused NBD connection is a boot failure at once', function () {
    const line = '[   25.1] dracut-initqueue[396]: Error: Socket failed: Connection refused';
    expect(BOOT_FAIL_PATTERNS.some((f) => f.pattern.test(line))).to.equal(true);
  });
});

describe('the lease address (leaseIpOf)', function () {
  it('is read from the DHCP line, whole even when the line is seen mid-way; none before its "/"', function () {
    expect(leaseIpOf('net0: 10.83.0.120/255.255.255.0 gw 10.83.0.1')).to.equal('10.83.0.120');
    // Stamped when the pattern showed, at the mask's first digit of four: the rest of the line may be missing, the address is whole.
    expect(leaseIpOf('net0: 10.83.0.120/255.255.255.0')).to.equal('10.83.0.120');
    // Cut inside the address: no address rather than a wrong one (10.83.0.12).
    expect(leaseIpOf('net0: 10.83.0.12')).to.equal(undefined);
  });
});

describe('stage ids: one list (results/stage-ids.ts)', () => {
  for (const kind of CLIENT_KINDS) {
    for (const union of CLIENT_DIMENSIONS.union.values) {
      it(`${kind} client, union ${union}: its stages are BOOT_STAGE_IDS in that order`, () => {
        const client = clientSpec({ kind, union });
        expect(bootStages({ client }).map((s) => s.id)).to.deep.equal([...BOOT_STAGE_IDS]);
        const bare = bareBootStages({ client }).map((s) => s.id);
        expect(bare, 'a bare boot: some of them, in the same order').to.deep.equal(BOOT_STAGE_IDS.filter((id) => bare.includes(id)));
        for (const p of bootPoints(client)) expect(BOOT_STAGE_IDS as readonly string[], `point ${p.id}`).to.include(p.stage);
      });
    }
  }
});

describe('the ltsp23 stack\'s stages', function () {
  const k12 = bootStages();
  const ltsp23 = bootStages({ client: clientSpec({ stack: 'ltsp23' }) });

  it('shares the stages both chains have, as they are (same ids, lines and budgets), and names its own for what they are', function () {
    const shared = ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'system', 'login'];
    for (const id of shared) expect(ltsp23.find((s) => s.id === id), id).to.deep.equal(k12.find((s) => s.id === id));
    expect(ltsp23.map((s) => s.id)).to.deep.equal([...STACK_STAGE_IDS.ltsp23]);
    // root mounted is the same step on another file system: its id and label, initramfs-tools' line.
    expect(ltsp23.find((s) => s.id === 'root')?.label).to.equal(k12.find((s) => s.id === 'root')?.label);
    expect(ltsp23.map((s) => s.id)).to.not.include.members(['union', 'switch-root']);
  });

  it('the k12 stack (the default) is unchanged by it', function () {
    expect(bootStages({ client: clientSpec() })).to.deep.equal(k12);
  });
});

describe("RESCUE_SHELL: dracut's emergency shell, in either initramfs", () => {
  // The last lines of a kept failed boot's console, each kind's (CI at a1dabe7: the ltsp
  // client's shell initramfs; the stock client's systemd initramfs, keep-attach's rescue case).
  const ltsp = ['dracut Warning: /dev/root does not exist', 'Generating "/run/initramfs/rdsosreport.txt"', 'Dropping to debug shell.', '', 'dracut:/# '];
  const stock = ['Entering emergency mode. Exit the shell to continue.', "Type \"journalctl\" to view system logs.", 'Press Enter for maintenance', '(or press Control-D to continue): '];

  it("is seen in the shell initramfs (ltsp: no sulogin, 'Dropping to debug shell.') and in the systemd one (stock: sulogin)", () => {
    expect(ltsp.filter((l) => RESCUE_SHELL.pattern.test(l))).to.deep.equal(['Dropping to debug shell.']);
    expect(stock.filter((l) => RESCUE_SHELL.pattern.test(l))).to.deep.equal(['Press Enter for maintenance']);
  });

  it("and each kind's prompt is RESCUE_PROMPT", () => {
    expect(RESCUE_PROMPT.test('dracut:/# ')).to.equal(true);
    expect(RESCUE_PROMPT.test('sh-5.2# ')).to.equal(true);
  });
});

describe('sessionStage: a logged-in user\'s prompt, "session up"', () => {
  it("matches the user's bash prompt on the client (pamltsp) or the server (an SSH session), not root's or another user's", () => {
    const p = sessionStage('student').pattern;
    // As the two stacks' consoles showed it (scenarios/login.e2e.ts).
    expect(p.test('student@ltsp158:~$ ')).to.equal(true);
    expect(p.test('student@e525acb8e6bf:~$ ')).to.equal(true);
    expect(p.test('student@server:/tmp$ [   43.48] random: crng init done')).to.equal(true);
    expect(p.test('root@ltsp158:~# ')).to.equal(false);
    expect(p.test('teacher@ltsp158:~$ ')).to.equal(false);
    expect(p.test('ssh student@server')).to.equal(false);
    expect(sessionStage('student')).to.include({ id: 'session', label: 'session up' });
    expect(stageKind('session')).to.equal('userspace');
  });
});

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { BootStageError, HarnessError } from '../common/errors';
import { ConsoleLog } from '../qemu-ts-wrapper';
import type { PointMark, StageMark } from '../results/types';
import { findPoints, followStages, type StageSource } from './follow-stages';
import { bootPoints, bootStages, type StageDef } from './stages';
import { clientSpec } from '../client/client-spec';
import { STACK_STAGE_IDS } from '../results/stage-ids';
import { FIXTURES_DIR } from '../common/paths';

const BOOT = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-union.log'), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');

/** A machine whose console is fed by the test and that never exits on its own. */
function machine(): StageSource & { console: ConsoleLog } {
  const exited = new Promise<never>(() => undefined);
  return {
    name: 'c1',
    console: new ConsoleLog({ name: 'c1' }),
    exited,
    startedAt: performance.now(),
    isRunning: () => true,
  };
}

const opts = (over: Partial<Parameters<typeof followStages>[2]> = {}): Parameters<typeof followStages>[2] => ({
  deadline: Deadline.after(5000, 'follow test'),
  budgetMs: () => 5000,
  consoleLogFile: '/tmp/c1/console.log',
  ...over,
});

describe('followStages', function () {
  this.timeout(10_000);

  describe('points inside the stages (where the long spans went)', () => {
    const STOCK = clientSpec({ kind: 'stock' });
    // Today's stock client: the NIC named lab0 by the kernel command line, the kernel and initramfs over HTTP.
    const BOOT = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-union-http.log'), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');

    async function pointsOf(boot: string): Promise<{ marks: StageMark[]; points: PointMark[] }> {
      const m = machine();
      const marks: StageMark[] = [];
      const points: PointMark[] = [];
      const following = followStages(m, bootStages({ client: STOCK }), opts({ marks, points: bootPoints(STOCK), pointMarks: points }));
      m.console.push(boot);
      await following;
      return { marks, points };
    }

    it("marks the stock client's points, each inside its stage's span, from its own console line", async () => {
      const { marks, points } = await pointsOf(BOOT);
      expect(points.map((p) => [p.stage, p.point])).to.deep.equal([
        ['initramfs', 'initrd-unpacked'],
        ['nbd', 'udevd'],
        ['nbd', 'udev-coldplug'],
        ['nbd', 'nbd-client'],
        ['nbd', 'link-up'],
        ['union', 'union-start'],
        ['login', 'first-unit'],
        ['login', 'basic-target'],
        ['login', 'getty'],
      ]);
      const at = (id: string): PointMark => points.find((p) => p.point === id)!;
      expect(at('link-up').line).to.match(/virtio_net virtio0 lab0: renamed from eth0$/);
      expect(at('basic-target').line).to.match(/Reached target basic\.target/);
      expect(at('first-unit').line).to.match(/systemd\[1\]: (?:Stopped|Created)|\[ {2}OK {2}\]/);
      // Each inside its stage: after the line of the stage before it, before its stage's own line.
      const lines = BOOT.split('\r\n');
      const lineOf = (text: string, from = 0): number => lines.indexOf(text, from);
      for (const p of points) {
        const i = marks.findIndex((m) => m.stage === p.stage);
        const before = lineOf(marks[i - 1]!.line);
        expect(lineOf(p.line, before + 1), p.point).to.be.greaterThan(before).and.lessThan(lineOf(marks[i]!.line, before + 1));
      }
      // The first unit after switch_root (the system stage's Welcome line), not the initramfs's units before it.
      expect(lineOf(at('first-unit').line, lineOf(marks.find((m) => m.stage === 'system')!.line))).to.be.greaterThan(0);
      expect(at('first-unit').line).to.equal('[  OK  ] Stopped initrd-switch-root.service - Switch Root.');
    });

    it("marks the ltsp client's points in a whole ltsp boot; the ones only systemd's initramfs prints are absent", async () => {
      const ltspBoot = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-ltsp-union-http.log'), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');
      const m = machine();
      const marks: StageMark[] = [];
      const points: PointMark[] = [];
      const LTSP = clientSpec({ kind: 'ltsp' });
      const following = followStages(m, bootStages({ client: LTSP }), opts({ marks, points: bootPoints(LTSP), pointMarks: points }));
      m.console.push(ltspBoot);
      await following;
      expect(marks.map((x) => x.stage)).to.deep.equal(bootStages().map((s) => s.id));
      expect(points.map((p) => [p.stage, p.point])).to.deep.equal([
        ['initramfs', 'initrd-unpacked'],
        ['nbd', 'udevd'],
        ['nbd', 'link-up'],
        ['nbd', 'nbd-negotiated'],
        ['union', 'union-start'],
        ['login', 'first-unit'],
        ['login', 'basic-target'],
        ['login', 'getty'],
      ]);
    });

    it("follows a whole boot of the ltsp23 stack (LTSP 23's chain, fixtures/consoles/console-ltsp23.log): the shared stages, LTSP's own, and the initramfs's DHCP", async () => {
      const ltsp23Boot = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-ltsp23.log'), 'utf8').replace(/\n$/, '').replaceAll('\n', '\r\n');
      const m = machine();
      const marks: StageMark[] = [];
      const points: PointMark[] = [];
      const LTSP23 = clientSpec({ stack: 'ltsp23' });
      const following = followStages(m, bootStages({ client: LTSP23 }), opts({ marks, points: bootPoints(LTSP23), pointMarks: points }));
      m.console.push(ltsp23Boot);
      await following;
      expect(marks.map((x) => x.stage)).to.deep.equal([...STACK_STAGE_IDS.ltsp23]);
      const line = (id: string): string | undefined => marks.find((x) => x.stage === id)?.line;
      // initramfs-tools' own lines, and LTSP's: what each stage of LTSP's chain is stamped by.
      expect(line('root')).to.equal('Begin: Running /scripts/local-bottom ... done.');
      expect(line('ltsp-overlay')).to.equal('Running /sbin/ltsp initrd-bottom');
      expect(line('ltsp-init')).to.match(/systemd\[1\]: systemd 252\S* running in system mode/);
      expect(line('nbd')).to.match(/nbd0: detected capacity change from 0/);
      expect(points.map((p) => [p.stage, p.point])).to.deep.include.members([
        ['nbd', 'initramfs-dhcp'],
        ['nbd', 'nbd-negotiated'],
      ]);
      expect(points.find((p) => p.point === 'initramfs-dhcp')?.line).to.equal('IP-Config: ens2 complete (dhcp from 10.213.1.2):');
    });

    it("marks the ltsp client's points from the lines its shell initramfs prints", () => {
      // From an ltsp client's console (the lab's kernel 6.1.176-ltsp-lab, dracut's shell init).
      const lines = [
        'Run /init as init process',
        'dracut: Debian GNU/Linux-12',
        "dracut Warning: Network interface 'lab0' does not exist",
        'Starting systemd-udevd version 252.39-1~deb12u2',
        'virtio_net virtio0 lab0: renamed from eth0',
        'grep: /etc/fstab: No such file or directory',
        'Negotiation: ..size = 975MB',
        'nbd0: detected capacity change from 0 to 1996800',
      ].map((text, i) => ({ t: 4500 + i * 1000, text }));
      const found = findPoints((i) => lines[i], 0, lines.length - 1, 'nbd', bootPoints(clientSpec({ kind: 'ltsp' })));
      expect(found.map((p) => [p.point, p.t])).to.deep.equal([
        ['udevd', 7500],
        ['link-up', 8500],
        ['nbd-negotiated', 10_500],
      ]);
    });

    it('points never touch the stage sequence: the same marks with and without them', async () => {
      const m = machine();
      const plain: StageMark[] = [];
      const following = followStages(m, bootStages(), opts({ marks: plain }));
      m.console.push(BOOT);
      await following;
      const { marks } = await pointsOf(BOOT);
      const shape = (ms: StageMark[]): string[][] => ms.map((x) => [x.stage, x.label, x.line]);
      expect(shape(marks)).to.deep.equal(shape(plain));
    });

    it('a point a kind does not print is absent, not a failure', async () => {
      const quiet = BOOT.split('\r\n').filter((l) => !/renamed from eth0|basic\.target/.test(l)).join('\r\n');
      const { marks, points } = await pointsOf(quiet);
      expect(marks.map((x) => x.stage)).to.deep.equal(bootStages().map((s) => s.id));
      expect(points.map((p) => p.point)).to.not.include.members(['link-up']);
      expect(points.map((p) => p.point)).to.not.include('basic-target');
      expect(points.map((p) => p.point)).to.include('getty');
    });
  });

  it('stamps every stage of a real union boot, in order, into the marks given', async () => {
    const m = machine();
    const marks: StageMark[] = [];
    const following = followStages(m, bootStages(), opts({ marks }));
    m.console.push(BOOT);
    const got = await following;
    expect(got).to.equal(marks);
    expect(marks.map((x) => x.stage)).to.deep.equal(bootStages().map((s) => s.id));
    expect(marks.find((x) => x.stage === 'dhcp')?.line).to.equal('net0: 10.213.1.197/255.255.255.0');
  });

  it("a mark's line is the whole line, though its stage was stamped when the pattern showed mid-line", async () => {
    const m = machine();
    const marks: StageMark[] = [];
    const following = followStages(m, bootStages(), opts({ marks }));
    // The union line arrives in two chunks, the stage's pattern complete in the first.
    const at = BOOT.indexOf('ltsp-union: mounted');
    const cut = at + 'ltsp-union: mounted '.length;
    m.console.push(BOOT.slice(0, cut));
    await new Promise((r) => setTimeout(r, 20));
    m.console.push(BOOT.slice(cut));
    await following;
    const union = marks.find((x) => x.stage === 'union')!;
    const whole = BOOT.slice(at, BOOT.indexOf('\r\n', at));
    expect(whole.length, 'the fixture line goes on past the pattern').to.be.greaterThan(cut - at);
    expect(union.line.endsWith(whole), union.line).to.equal(true);
  });

  it('a failure pattern fails the stage it came in with a BootStageError, and says which stage first', async () => {
    const m = machine();
    const failed: string[] = [];
    const marks: StageMark[] = [];
    const following = followStages(m, bootStages(), opts({ marks, onFailure: (s: StageDef) => failed.push(s.id) }));
    const atNbd = BOOT.indexOf('nbd0: detected capacity change');
    m.console.push(`${BOOT.slice(0, atNbd)}\r\n[   30.0] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n`);
    const err = await following.then(
      () => expect.fail('the boot should fail'),
      (e: unknown) => e as BootStageError,
    );
    expect(err).to.be.instanceOf(BootStageError);
    expect(err.stage).to.equal('NBD connected (nbd)');
    expect(err.message).to.include('kernel-panic');
    expect(err.hint).to.equal('console log: /tmp/c1/console.log');
    expect(failed).to.deep.equal(['nbd']);
    expect(marks.map((x) => x.stage)).to.deep.equal(['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs']);
  });

  it('a stage past its budget names the budget', async () => {
    const m = machine();
    const err = await followStages(m, bootStages(), opts({ budgetMs: () => 50 })).then(
      () => expect.fail('the boot should time out'),
      (e: unknown) => e as BootStageError,
    );
    expect(err).to.be.instanceOf(BootStageError);
    expect(err.stage).to.equal('iPXE start (ipxe)');
    expect(err.message).to.match(/\(budget 0 s\)/);
  });

  it('rethrows what abort rejects with, as it is', async () => {
    const m = machine();
    const broken = new HarnessError('the lab bridge is gone');
    const abort = new Promise<never>((_, reject) => setTimeout(() => reject(broken), 10));
    const err = await followStages(m, bootStages(), opts({ abort })).then(
      () => expect.fail('the boot should be aborted'),
      (e: unknown) => e,
    );
    expect(err).to.equal(broken);
  });
});

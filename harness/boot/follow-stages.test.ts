import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { BootStageError, HarnessError } from '../common/errors';
import { ConsoleLog } from '../console/console-log';
import type { StageMark } from '../report/types';
import { followStages, type StageSource } from './follow-stages';
import { bootStages, type StageDef } from './stages';
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

  it('stamps every stage of a real union boot, in order, into the marks given', async () => {
    const m = machine();
    const marks: StageMark[] = [];
    const following = followStages(m, bootStages({ union: true }), opts({ marks }));
    m.console.push(BOOT);
    const got = await following;
    expect(got).to.equal(marks);
    expect(marks.map((x) => x.stage)).to.deep.equal(bootStages({ union: true }).map((s) => s.id));
    expect(marks.find((x) => x.stage === 'dhcp')?.line).to.equal('net0: 10.213.1.197/255.255.255.0');
  });

  it("a mark's line is the whole line, though its stage was stamped when the pattern showed mid-line", async () => {
    const m = machine();
    const marks: StageMark[] = [];
    const following = followStages(m, bootStages({ union: true }), opts({ marks }));
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
    const following = followStages(m, bootStages({ union: true }), opts({ marks, onFailure: (s: StageDef) => failed.push(s.id) }));
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
    const err = await followStages(m, bootStages({ union: true }), opts({ budgetMs: () => 50 })).then(
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
    const err = await followStages(m, bootStages({ union: true }), opts({ abort })).then(
      () => expect.fail('the boot should be aborted'),
      (e: unknown) => e,
    );
    expect(err).to.equal(broken);
  });
});

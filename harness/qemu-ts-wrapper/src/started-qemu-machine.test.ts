import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from './deadline';
import { LaunchError } from './errors';
import { QemuMachine } from './qemu-machine';
import type { StartedQemuMachine } from './started-qemu-machine';

const FAKE_QEMU = join(__dirname, 'testing', 'fake-qemu.mjs');

describe('StartedQemuMachine (against a fake QEMU)', function () {
  this.timeout(15_000);
  let dir: string;
  let started: StartedQemuMachine | undefined;
  const saved = process.env.FAKE_QEMU;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-ts-wrapper-'));
  });

  afterEach(async () => {
    if (started?.isRunning()) started.kill('SIGKILL');
    started = undefined;
    if (saved === undefined) delete process.env.FAKE_QEMU;
    else process.env.FAKE_QEMU = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(mode: string): Promise<StartedQemuMachine> {
    process.env.FAKE_QEMU = mode;
    started = await new QemuMachine('c1', dir).withBinary(FAKE_QEMU).start(Deadline.after(10_000, 'start c1'));
    await started.console.waitFor('fake QEMU c1', { deadline: Deadline.after(5000, 'its first line') });
    return started;
  }

  it('types at the serial console and reads it back', async () => {
    const m = await start('quit');
    m.type('echo hello\n');
    const hit = await m.console.waitFor(/^echo (\w+)$/, { deadline: Deadline.after(5000, 'the echo') });
    expect(hit.match[1]).to.equal('hello');
    await m.stop();
  });

  it('stops over QMP quit when QEMU obeys it, and a second stop is the same stop', async () => {
    const m = await start('quit');
    const first = m.stop();
    expect(await first).to.equal('quit');
    expect(m.stop()).to.equal(first);
    expect((await m.exited).code).to.equal(0);
  });

  it('falls back to SIGTERM when QEMU ignores quit, and says so in the step', async () => {
    const m = await start('deaf');
    expect(await m.stop({ quitMs: 300, termGraceMs: 2000 })).to.equal('sigterm');
    expect(m.isRunning()).to.equal(false);
  });

  it('falls back to SIGKILL when QEMU ignores quit and SIGTERM', async () => {
    const m = await start('stubborn');
    expect(await m.stop({ quitMs: 300, termGraceMs: 300 })).to.equal('sigkill');
    expect((await m.exited).signal).to.equal('SIGKILL');
  });

  it('a QEMU that is already gone stops as exited', async () => {
    const m = await start('quit');
    m.kill('SIGKILL');
    await m.exited;
    expect(await m.stop()).to.equal('exited');
  });

  it('a QEMU that exits at start is a LaunchError ending with its stderr', async () => {
    process.env.FAKE_QEMU = 'die';
    const e = await new QemuMachine('c1', dir).withBinary(FAKE_QEMU).start(Deadline.after(10_000, 'start c1')).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(LaunchError);
    expect((e as LaunchError).message).to.match(/^QEMU for c1 exited at start \(code 1, signal null\)\n--- last 1 stderr lines ---\nqemu-system-x86_64: -netdev tap/);
  });

  it('a missing QEMU binary is a LaunchError with code ENOENT', async () => {
    const e = await new QemuMachine('c1', dir).withBinary(join(dir, 'no-qemu')).start(Deadline.after(10_000, 'start c1')).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(LaunchError);
    expect((e as LaunchError).code).to.equal('ENOENT');
  });
});

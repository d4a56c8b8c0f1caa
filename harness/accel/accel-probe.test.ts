import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import type { Accel } from '../common/speed';
import { probeAccel, seconds, type ProbeResult } from './accel-probe';
import { writeFakeQemu, type FakeBehaviour } from './fake-qemu';

describe('probeAccel (a fake QEMU)', function () {
  this.timeout(20_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-probe-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function probe(kvm: FakeBehaviour, accel: Accel = 'kvm', limits = { kernelMs: 1500, initMs: 1500 }): Promise<ProbeResult> {
    const qemuBinary = writeFakeQemu(dir, kvm);
    return probeAccel({ accel, qemuBinary, kernel: '/lab/vmlinuz', initrd: '/lab/initrd.img', stateDir: join(dir, 'state'), deadline: Deadline.after(10_000, 'probe test'), ...limits });
  }

  it('passes when the kernel reaches /init, and boots the lab kernel under the accelerator asked for', async () => {
    const r = await probe({ kind: 'pass' });
    expect(r).to.include({ accel: 'kvm', ok: true });
    expect(r.failure).to.equal(undefined);
    const argv = readFileSync(join(dir, 'argv.log'), 'utf8');
    expect(argv).to.include('-accel kvm -cpu host');
    expect(argv).to.include('-kernel /lab/vmlinuz -initrd /lab/initrd.img');
    expect(argv).to.include('-no-reboot');
    expect(argv).to.not.include('-qmp');
  });

  it('fails a probe that hangs after "Probing EDD", within the limit, and ends QEMU', async () => {
    const t0 = performance.now();
    const r = await probe({ kind: 'hang' }, 'kvm', { kernelMs: 700, initMs: 1500 });
    expect(r.ok).to.equal(false);
    expect(r.failure).to.equal('no "Linux version" in 0.7 s');
    expect(r.tail.join('\n')).to.include('Probing EDD');
    expect(performance.now() - t0).to.be.below(5000);
    // The pidfile goes when the process group has exited.
    expect(existsSync(join(dir, 'state', 'probe-kvm', 'probe-kvm.pid'))).to.equal(false);
  });

  it('says what QEMU printed when it exits at start', async () => {
    const r = await probe({ kind: 'exit' });
    expect(r.ok).to.equal(false);
    expect(r.failure).to.match(/^QEMU exited \(code 1\) before "Linux version": qemu-system-x86_64: failed to initialize kvm: No such device$/);
  });

  it('fails a slow probe at its limit, and passes it given time, with the time it took', async () => {
    const slow = await probe({ kind: 'pass', delayS: 1.2 }, 'kvm', { kernelMs: 500, initMs: 500 });
    expect(slow.ok).to.equal(false);
    expect(slow.failure).to.equal('no "Linux version" in 0.5 s');
    const given = await probe({ kind: 'pass', delayS: 1.2 }, 'kvm', { kernelMs: 3000, initMs: 500 });
    expect(given.ok).to.equal(true);
    expect(given.ms).to.be.within(1150, 3000);
  });

  it('fails on a kernel panic at once, naming it', async () => {
    const r = await probe({ kind: 'panic' });
    expect(r.ok).to.equal(false);
    expect(r.failure).to.equal('kernel-panic before "Run /init"');
  });

  it('writes seconds the way the verdict line reads them', () => {
    expect(seconds(5000)).to.equal('5 s');
    expect(seconds(800)).to.equal('0.8 s');
    expect(seconds(12_400)).to.equal('12 s');
  });
});

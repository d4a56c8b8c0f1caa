import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { SetupError, UsageError } from '../common/errors';
import type { Accel } from '../common/speed';
import { chooseAccel, KVM_SLOW_MS, type ChooseAccelOptions, type Prober } from './accel-choice';
import type { ProbeResult } from './accel-probe';
import { writeFakeQemu } from './fake-qemu';
import { inspectKvmDevice } from './kvm-device';

type Scripted = Partial<Record<Accel, Omit<ProbeResult, 'accel' | 'tail'>>>;

/** A prober that answers from a script and records what it was asked. */
function scripted(answers: Scripted): Prober & { calls: Array<{ accel: Accel; totalMs?: number }> } {
  const calls: Array<{ accel: Accel; totalMs?: number }> = [];
  const p: Prober = async (accel, limits) => {
    calls.push({ accel, ...(limits.totalMs === undefined ? {} : { totalMs: limits.totalMs }) });
    const a = answers[accel];
    if (!a) throw new Error(`no scripted probe for ${accel}`);
    return { accel, tail: [], ...a };
  };
  return Object.assign(p, { calls });
}

/** A character device whose open(2) fails with ENXIO: a major no driver registered (/proc/devices). */
function deadDevice(dir: string): string {
  const taken = new Set(readFileSync('/proc/devices', 'utf8').split('\n').map((l) => Number(l.trim().split(/\s+/)[0])));
  const major = [240, 241, 242, 243, 244].find((m) => !taken.has(m));
  if (major === undefined) throw new Error('no free local char major in 240-244');
  const path = join(dir, 'kvm-dead');
  execFileSync('mknod', [path, 'c', String(major), '0']);
  return path;
}

describe('chooseAccel: the accelerator by proof', function () {
  this.timeout(20_000);
  let dir: string;
  let base: Omit<ChooseAccelOptions, 'prober'>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-accel-'));
    base = {
      kernel: '/lab/vmlinuz',
      initrd: '/lab/initrd.img',
      deadline: Deadline.after(15_000, 'accel test'),
      env: { LTSP_LAB_KVM_DEVICE: '/dev/null', PATH: process.env.PATH ?? '' },
      cacheFile: join(dir, 'accel-verdict.json'),
      bootId: 'boot-1',
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const env = (more: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...base.env, ...more });

  it('LTSP_LAB_ACCEL=tcg skips the probe', async () => {
    const p = scripted({});
    const d = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'tcg' }), prober: p });
    expect(d).to.include({ accel: 'tcg', cached: false });
    expect(d.reason).to.equal('tcg (LTSP_LAB_ACCEL=tcg: no probe)');
    expect(p.calls).to.deep.equal([]);
  });

  it('refuses an LTSP_LAB_ACCEL that is neither kvm nor tcg', async () => {
    const e = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'hvf' }), prober: scripted({}) }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(UsageError);
    expect((e as Error).message).to.include("LTSP_LAB_ACCEL='hvf'");
  });

  it('without /dev/kvm: TCG, no probe, and says so', async () => {
    const p = scripted({});
    const d = await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: join(dir, 'no-kvm') }), prober: p });
    expect(d.accel).to.equal('tcg');
    expect(d.reason).to.equal(`no ${join(dir, 'no-kvm')} -> tcg`);
    expect(p.calls).to.deep.equal([]);
  });

  it('a /dev/kvm that cannot be opened, or is no device: TCG, with the errno', async () => {
    const dead = deadDevice(dir);
    expect(inspectKvmDevice(dead)).to.deep.equal({ state: 'unusable', path: dead, why: 'open: ENXIO' });
    const d = await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: dead }), prober: scripted({}) });
    expect(d).to.include({ accel: 'tcg', reason: `${dead} unusable (open: ENXIO) -> tcg` });
    mkdirSync(join(dir, 'kvm-dir'));
    const notDev = await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: join(dir, 'kvm-dir') }), prober: scripted({}) });
    expect(notDev.reason).to.equal(`${join(dir, 'kvm-dir')} unusable (not a character device) -> tcg`);
  });

  it('a device that opens and a probe that reaches /init quickly: KVM', async () => {
    const p = scripted({ kvm: { ok: true, ms: 812 } });
    const d = await chooseAccel({ ...base, prober: p });
    expect(d).to.include({ accel: 'kvm', reason: 'kvm (probe: "Run /init" in 0.8 s)', cached: false });
    expect(p.calls.map((c) => c.accel)).to.deep.equal(['kvm']);
  });

  it('a probe that hangs (kvm_pvm): TCG, and the line says why', async () => {
    const d = await chooseAccel({ ...base, prober: scripted({ kvm: { ok: false, ms: 5000, failure: 'no "Linux version" in 5 s' } }) });
    expect(d.accel).to.equal('tcg');
    expect(d.reason).to.equal('kvm unusable (probe: no "Linux version" in 5 s) -> tcg');
    expect(d.probes).to.deep.equal([{ accel: 'kvm', ok: false, ms: 5000, failure: 'no "Linux version" in 5 s' }]);
  });

  it('a probe whose QEMU exits early: TCG', async () => {
    const d = await chooseAccel({ ...base, prober: scripted({ kvm: { ok: false, ms: 40, failure: 'QEMU exited (code 1) before "Linux version": failed to initialize kvm' } }) });
    expect(d.reason).to.equal('kvm unusable (probe: QEMU exited (code 1) before "Linux version": failed to initialize kvm) -> tcg');
  });

  it('a slow KVM is timed against TCG, which gets no longer than KVM took, and the faster wins', async () => {
    const slow = KVM_SLOW_MS + 2000;
    const tcgWins = scripted({ kvm: { ok: true, ms: slow }, tcg: { ok: true, ms: slow - 1500 } });
    const d = await chooseAccel({ ...base, prober: tcgWins });
    expect(d.accel).to.equal('tcg');
    expect(d.reason).to.equal('kvm slower than tcg (probe: "Run /init" in 5 s under kvm, 3.5 s under tcg) -> tcg');
    expect(tcgWins.calls).to.deep.equal([{ accel: 'kvm' }, { accel: 'tcg', totalMs: slow }]);

    rmSync(base.cacheFile as string);
    const kvmWins = scripted({ kvm: { ok: true, ms: slow }, tcg: { ok: false, ms: slow, failure: 'no "Run /init" in 5 s' } });
    const k = await chooseAccel({ ...base, prober: kvmWins });
    expect(k).to.include({ accel: 'kvm', reason: 'kvm (probe: "Run /init" in 5 s; tcg not faster)' });
  });

  it('LTSP_LAB_ACCEL=kvm: KVM when the probe passes, a set-up error (exit 3) saying why when it fails', async () => {
    const ok = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'kvm' }), prober: scripted({ kvm: { ok: true, ms: 700 } }) });
    expect(ok.accel).to.equal('kvm');
    rmSync(base.cacheFile as string);
    const e = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'kvm' }), prober: scripted({ kvm: { ok: false, ms: 5000, failure: 'no "Linux version" in 5 s' } })}).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(SetupError);
    expect((e as SetupError).exitCode).to.equal(3);
    expect((e as Error).message).to.equal('LTSP_LAB_ACCEL=kvm, but KVM cannot run the client: kvm unusable (probe: no "Linux version" in 5 s) -> tcg');
    const missing = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'kvm', LTSP_LAB_KVM_DEVICE: join(dir, 'none') }), prober: scripted({}) }).catch((x: unknown) => x);
    expect(missing).to.be.instanceOf(SetupError);
    expect((missing as Error).message).to.include('does not exist');
  });

  it('keeps the real device\'s verdict while simulated devices come and go, and drops those of gone devices and older boots', async () => {
    // Nodes that open like a device (/dev/null's numbers): "present", so each is probed.
    const node = (path: string): string => (execFileSync('mknod', [path, 'c', '1', '3']), path);
    const real = node(join(dir, 'kvm-real'));
    await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: real }), prober: scripted({ kvm: { ok: false, ms: 5000, failure: 'no "Linux version" in 5 s' } }) });
    // A test's simulated hosts: more of them than the cache holds, each removed after use.
    for (let i = 0; i < 12; i++) {
      const sim = mkdtempSync(join(dir, 'sim-'));
      await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: node(join(sim, 'kvm')) }), prober: scripted({ kvm: { ok: true, ms: 600 } }) });
      rmSync(sim, { recursive: true });
    }
    const again = scripted({});
    expect(await chooseAccel({ ...base, env: env({ LTSP_LAB_KVM_DEVICE: real }), prober: again })).to.include({ accel: 'tcg', cached: true });
    expect(again.calls).to.deep.equal([]);
    // After a reboot, the first verdict written drops the old boot's.
    await chooseAccel({ ...base, bootId: 'boot-2', env: env({ LTSP_LAB_KVM_DEVICE: real }), prober: scripted({ kvm: { ok: true, ms: 600 } }) });
    const keys = (JSON.parse(readFileSync(base.cacheFile as string, 'utf8')) as { key: string }[]).map((e) => e.key.split('|').slice(0, 2).join('|'));
    expect(keys).to.deep.equal([`boot-2|${real}`]);
  });

  it('caches the verdict per host boot: the same boot reads it, a new boot id or another device probes again', async () => {
    const first = scripted({ kvm: { ok: false, ms: 5000, failure: 'no "Linux version" in 5 s' } });
    await chooseAccel({ ...base, prober: first });
    const again = scripted({});
    const hit = await chooseAccel({ ...base, prober: again });
    expect(again.calls).to.deep.equal([]);
    expect(hit).to.include({ accel: 'tcg', cached: true });
    expect(hit.reason).to.equal('kvm unusable (probe: no "Linux version" in 5 s) -> tcg (probed earlier this host boot)');
    // A forced KVM does not get around a cached failure.
    const forced = await chooseAccel({ ...base, env: env({ LTSP_LAB_ACCEL: 'kvm' }), prober: again }).catch((x: unknown) => x);
    expect(forced).to.be.instanceOf(SetupError);

    const rebooted = scripted({ kvm: { ok: true, ms: 600 } });
    expect((await chooseAccel({ ...base, bootId: 'boot-2', prober: rebooted })).accel).to.equal('kvm');
    expect(rebooted.calls).to.have.length(1);

    const otherDevice = scripted({ kvm: { ok: true, ms: 600 } });
    await chooseAccel({ ...base, bootId: 'boot-2', env: env({ LTSP_LAB_KVM_DEVICE: '/dev/zero' }), prober: otherDevice });
    expect(otherDevice.calls).to.have.length(1);
    // ... and the first device's verdict is still there beside it.
    const back = scripted({});
    expect((await chooseAccel({ ...base, bootId: 'boot-2', prober: back })).cached).to.equal(true);
    expect(back.calls).to.deep.equal([]);
  });

  it('a folder where the verdict file should be: the verdict is not cached, and no temp file is left beside it', async () => {
    mkdirSync(base.cacheFile as string);
    for (let i = 0; i < 2; i++) expect(await chooseAccel({ ...base, prober: scripted({ kvm: { ok: true, ms: 600 } }) })).to.include({ accel: 'kvm', cached: false });
    expect(readdirSync(dir)).to.deep.equal(['accel-verdict.json']);
  });

  it('with the lab QEMU replaced by one whose KVM hangs: TCG, and the probe leaves no state behind', async () => {
    const state = join(dir, 'state');
    const saved = process.env.LTSP_LAB_STATE;
    process.env.LTSP_LAB_STATE = state;
    try {
      const qemu = writeFakeQemu(dir, { kind: 'hang' });
      const d = await chooseAccel({ ...base, env: env({ LTSP_LAB_QEMU: qemu }) });
      expect(d.accel).to.equal('tcg');
      expect(d.reason).to.equal('kvm unusable (probe: no "Linux version" in 5 s) -> tcg');
      expect(readdirSync(state)).to.deep.equal([]);
    } finally {
      if (saved === undefined) delete process.env.LTSP_LAB_STATE;
      else process.env.LTSP_LAB_STATE = saved;
    }
  });
});

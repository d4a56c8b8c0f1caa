import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budgetMs, inspectKvmDevice, kvmDevicePath, type AccelDecision } from '../harness/index';
import { leftovers, NOTHING } from './support/leftovers';
import { runLab } from './support/lab-cli';

/*
 * The accelerator is chosen by proof, on three kinds of host. This machine is one of
 * them as it is; the others are simulated with a device node (LTSP_LAB_KVM_DEVICE) and a
 * QEMU wrapper (LTSP_LAB_QEMU) that behaves, under -accel kvm, like the host's KVM would.
 */

/** A QEMU wrapper: under -accel kvm it does `kvm` (shell), otherwise it runs the real QEMU. Logs every argv. */
function qemuWrapper(dir: string, name: string, kvm: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/bin/bash
printf '%s\\n' "$*" >> "${join(dir, `${name}.argv`)}"
prev=
for a in "$@"; do
  if [ "$prev" = -accel ]; then case "$a" in kvm|kvm,*) ${kvm} ;; esac; fi
  prev=$a
done
exec qemu-system-x86_64 "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** kvm_pvm's symptom: the real-mode setup code runs, the kernel never says "Linux version". */
const PVM_HANG = `echo 'Probing EDD (edd=off to disable)... ok'; exec sleep 600`;
/** A KVM that boots at once: the probe's two lines, then idle until ended. */
const FAST_KVM = `echo 'Linux version 6.1.0 (simulated kvm)'; echo 'Run /init as init process'; exec sleep 600`;

async function accelJson(env: NodeJS.ProcessEnv): Promise<{ code: number | null; d: AccelDecision & { decisionMs: number }; stderr: string }> {
  const r = await runLab(['accel', '--json'], { env, timeoutMs: budgetMs('imageBuild') });
  let d: AccelDecision & { decisionMs: number };
  try {
    d = JSON.parse(r.stdout) as typeof d;
  } catch {
    throw new Error(`./lab accel --json exited ${r.code} with no JSON:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  }
  return { code: r.code, d, stderr: r.stderr };
}

/** A regex that matches `s` literally. */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The verdict a decision's probes call for (harness/accel/accel-choice.ts decide()): the
 * first probe is under kvm; a failed one is tcg, a fast one kvm, a slow one kvm unless
 * the tcg probe finished sooner.
 */
function verdictOf(probes: AccelDecision['probes']): { accel: string; reason: RegExp } {
  const [kvm, tcg] = probes;
  expect(kvm?.accel, 'the first probe is under kvm').to.equal('kvm');
  if (!kvm!.ok) return { accel: 'tcg', reason: new RegExp(`^${literal(`kvm unusable (probe: ${kvm!.failure}) -> tcg`)}$`) };
  if (tcg?.ok && tcg.ms < kvm!.ms) return { accel: 'tcg', reason: /^kvm slower than tcg \(probe: "Run \/init" in .* -> tcg$/ };
  return { accel: 'kvm', reason: /^kvm \(probe: "Run \/init" in / };
}

describe('accelerator: chosen by a probe of the lab kernel, never by the device file @full', function () {
  let dir: string;
  let workingNode: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-accel-e2e-'));
    // A node that opens like a device (the major and minor of /dev/null): "present".
    workingNode = join(dir, 'kvm');
    execFileSync('mknod', [workingNode, 'c', '1', '3']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('this host as it is: the verdict matches what its /dev/kvm is, and a present one is probed afresh with no cache', async function () {
    // A state folder of its own: no cached verdict, so a present /dev/kvm is probed here and now.
    const fresh = join(dir, 'state');
    const { code, d } = await accelJson({ LTSP_LAB_STATE: fresh });
    expect(code).to.equal(0);
    const device = inspectKvmDevice(kvmDevicePath(process.env));
    if (device.state === 'missing') expect(d).to.include({ accel: 'tcg', reason: `no ${device.path} -> tcg` });
    else if (device.state === 'unusable') expect(d.reason).to.equal(`${device.path} unusable (${device.why}) -> tcg`);
    else {
      expect(d.cached, 'no cache in a fresh state folder').to.equal(false);
      const want = verdictOf(d.probes);
      expect(d.accel, `the verdict follows its probes: ${JSON.stringify(d.probes)}`).to.equal(want.accel);
      expect(d.reason, `the reason names the probe: ${JSON.stringify(d.probes)}`).to.match(want.reason);
      // The lab's own state folder, cached or not, comes to the same verdict.
      const usual = await accelJson({});
      expect(usual.d.accel, usual.d.reason).to.equal(d.accel);
    }
  });

  it("a /dev/kvm whose KVM cannot run the guest (kvm_pvm): tcg, the probe's reason, and the verdict cached for this host boot", async function () {
    const env = { LTSP_LAB_KVM_DEVICE: workingNode, LTSP_LAB_QEMU: qemuWrapper(dir, 'pvm-qemu', PVM_HANG) };
    const first = await accelJson(env);
    expect(first.code).to.equal(0);
    expect(first.d.accel).to.equal('tcg');
    expect(first.d.reason).to.match(/^kvm unusable \(probe: no "Linux version" in 5 s\) -> tcg/);
    const again = await accelJson(env);
    expect(again.d).to.include({ accel: 'tcg', cached: true });
    // No probe ran the second time: the wrapper saw no -accel kvm run after the first call's.
    const kvmRuns = (): number => readFileSync(join(dir, 'pvm-qemu.argv'), 'utf8').split('\n').filter((l) => / -accel kvm/.test(l)).length;
    expect(kvmRuns(), 'probes under kvm in all').to.equal(first.d.probes.filter((p) => p.accel === 'kvm').length);
    expect(again.d.decisionMs, 'a cached verdict costs no probe').to.be.below(1000);
  });

  it('a working KVM: kvm; and LTSP_LAB_ACCEL=kvm where KVM cannot run the guest is a set-up error (exit 3) that says why', async function () {
    const fast = await accelJson({ LTSP_LAB_KVM_DEVICE: workingNode, LTSP_LAB_QEMU: qemuWrapper(dir, 'fast-qemu', FAST_KVM) });
    expect(fast.d.accel).to.equal('kvm');
    expect(fast.d.reason).to.match(/^kvm \(probe: "Run \/init" in \d/);

    const forced = await runLab(['accel'], { env: { LTSP_LAB_ACCEL: 'kvm', LTSP_LAB_KVM_DEVICE: workingNode, LTSP_LAB_QEMU: qemuWrapper(dir, 'forced-qemu', PVM_HANG) }, timeoutMs: budgetMs('imageBuild') });
    expect(forced.code, forced.stderr).to.equal(3);
    expect(forced.stderr).to.match(/set-up problem: LTSP_LAB_ACCEL=kvm, but KVM cannot run the client: kvm unusable \(probe: no "Linux version" in 5 s\)/);
    expect(forced.stderr).to.include('unset LTSP_LAB_ACCEL');
  });

  it('./lab boot on a kvm_pvm-like host: its first lines name tcg and why, before any client boots, the client boots under TCG to login, nothing is left', async function () {
    const wrapper = qemuWrapper(dir, 'boot-qemu', PVM_HANG);
    const r = await runLab(['boot', '--json'], { env: { LTSP_LAB_KVM_DEVICE: workingNode, LTSP_LAB_QEMU: wrapper }, timeoutMs: budgetMs('labStart') });
    expect(r.code, `./lab boot exited ${r.code}:\n${r.stderr.slice(-4000)}`).to.equal(0);
    const lines = r.stderr.split('\n');
    const accel = lines.findIndex((l) => l.startsWith('lab: accelerator: '));
    const booting = lines.findIndex((l) => / client\(s\) booting/.test(l));
    expect(lines[accel], `./lab boot's first lines:\n${lines.slice(0, 12).join('\n')}`).to.match(/^lab: accelerator: kvm unusable \(probe: no "Linux version" in 5 s\) -> tcg/);
    expect(accel, 'the accelerator line comes before the boot starts').to.be.below(booting);
    const out = JSON.parse(r.stdout) as { runId: string; ok: boolean; speed: { accel: string; accelReason: string }; clients: Array<{ ok: boolean; stages: Array<{ stage: string }> }> };
    expect(out.ok).to.equal(true);
    expect(out.speed.accel).to.equal('tcg');
    expect(out.clients[0]!.stages.map((s) => s.stage)).to.include('login');
    // The client's QEMU went through the wrapper, under TCG.
    const client = readFileSync(join(dir, 'boot-qemu.argv'), 'utf8').split('\n').find((l) => l.startsWith('-name c1,'));
    expect(client, 'the wrapper ran client c1').to.be.a('string');
    expect(client).to.match(/ -accel tcg,tb-size=\d+ /);
    expect(await leftovers(out.runId)).to.deep.equal(NOTHING);
  });
});

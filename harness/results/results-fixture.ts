import type { RunResults } from './types';

/**
 * A two-client boot's results.json as unit tests use it: c1 reached login, c2 failed
 * in its kernel stage. Not recorded: the recorded run is fixtures/runs/boot-2-clients.
 */
export function twoClientRun(): RunResults {
  const stage = (s: string, label: string, kind: RunResults['tests'][number]['clients'][number]['stages'][number]['kind'], t: number, durationMs: number) =>
    ({ stage: s, label, kind, t, durationMs, budgetMs: durationMs * 3, line: `${label} line` });
  return {
    schemaVersion: 1,
    runId: 'boot-abc123',
    kind: 'boot',
    title: './lab boot --clients 2 <x>',
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:01:05.500Z',
    outcome: 'fail',
    exitCode: 4,
    host: { cores: 2, accel: 'tcg', accelReason: 'no /dev/kvm', speedFactor: 1.2, calibrationMs: 73, loadAvg1: 0.5, loadAvg1End: 1.9 },
    images: { keys: { root: 'r1', initramfs: 'i1' }, rootSha256: 'ab'.repeat(32), kernelVersion: '6.1.0-28-amd64' },
    baseline: {
      profile: 'tcg-2cpu',
      file: 'fixtures/baselines/tcg-2cpu.json',
      runs: 5,
      stages: [{ stage: 'ipxe', medianMs: 400 }, { stage: 'dhcp', medianMs: 2000 }, { stage: 'kernel', medianMs: 3400 }, { stage: 'nbd', medianMs: 17000 }, { stage: 'login', medianMs: 22800 }],
      totalMs: 45600,
    },
    tests: [{
      id: '.',
      title: 'boot',
      outcome: 'fail',
      durationMs: 65_000,
      serverLog: 'server.log',
      error: { class: 'BootStageError', kind: 'sut', exitCode: 4, message: "boot stage 'kernel start (kernel)' failed after 12.0 s", stage: 'kernel start (kernel)', consoleTail: ['nbd: connect failed'] },
      clients: [
        {
          client: 'c1', mac: '52:54:00:00:00:01', ok: true, kernelCmdline: 'BOOT_IMAGE=vmlinuz root=nbd:10.0.0.1:root ip=10.0.0.101', memoryMb: 384,
          stages: [stage('ipxe', 'iPXE start', 'firmware', 400, 400), stage('dhcp', 'DHCP lease', 'network', 2500, 2100), stage('kernel', 'kernel start', 'kernel', 6000, 3500),
            stage('nbd', 'NBD connected', 'nbd', 23500, 17500), stage('login', 'login prompt', 'userspace', 46100, 22600)],
          consoleLog: 'c1/console.log', qmpLog: 'c1/qmp.log',
        },
        {
          client: 'c2', mac: '52:54:00:00:00:02', ok: false, failedStage: 'kernel', error: 'timed out', consoleTail: ['nbd: connect failed'],
          stages: [stage('ipxe', 'iPXE start', 'firmware', 500, 500), stage('dhcp', 'DHCP lease', 'network', 2800, 2300)],
          consoleLog: 'c2/console.log',
        },
      ],
    }],
  };
}

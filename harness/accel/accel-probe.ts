import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SERIAL_CONSOLE_ARG } from '../boot/kernel-args';
import { bootStages } from '../boot/stages';
import type { Deadline } from '../common/deadline';
import { ConsoleWaitError } from '../common/errors';
import { log } from '../common/log';
import { trackStoppable } from '../common/teardown';
import type { Accel } from '../common/speed';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';
import { labMachine, spawnQemu } from '../qemu/lab-qemu';
import { budgetMs } from '../common/budgets';

const debug = log('accel');

/** The kernel line of the probe: the serial console, and a panic ends QEMU at once (-no-reboot). */
export const PROBE_APPEND = `${SERIAL_CONSOLE_ARG} panic=-1`;

export interface ProbeSpec {
  accel: Accel;
  qemuBinary: string;
  /** The lab's own kernel and initramfs: the guest the clients will run. */
  kernel: string;
  initrd: string;
  /** Where the probe's pidfile goes: a registered run's state folder, so a crash is reaped. */
  stateDir: string;
  /** Limits of the two marks, ms: "Linux version", then "Run /init". */
  kernelMs: number;
  initMs: number;
  deadline: Deadline;
}

export interface ProbeResult {
  accel: Accel;
  ok: boolean;
  /** From QEMU's spawn to the last mark seen (or to the failure), ms. */
  ms: number;
  /** Why it failed, in words for the verdict line, e.g. `no "Linux version" in 5 s`. */
  failure?: string;
  /** The last console lines, for a set-up error. */
  tail: string[];
}

/** The marks a probe waits for: the boot stages' own patterns (one source). */
function probeMarks(): { kernel: RegExp; init: RegExp } {
  const stages = bootStages();
  const pattern = (id: string): RegExp => (stages.find((s) => s.id === id) as { pattern: RegExp }).pattern;
  return { kernel: pattern('kernel'), init: pattern('initramfs') };
}

/**
 * Boots the lab's kernel and initramfs directly (-kernel/-initrd, no disk, no NIC, no
 * QMP) under one accelerator until the initramfs runs /init, then ends QEMU. A host
 * whose KVM cannot run a stock guest stops before "Linux version" (iPXE or SeaBIOS
 * hang) or after "Probing EDD"; either is a failed probe, not an error.
 */
export async function probeAccel(spec: ProbeSpec): Promise<ProbeResult> {
  const name = `probe-${spec.accel}`;
  const machine = labMachine(name, join(spec.stateDir, name))
    .withBinary(spec.qemuBinary)
    .withAccel(spec.accel, 64)
    .withMemory(256)
    .withDirectKernel({ kernel: spec.kernel, initrd: spec.initrd, append: PROBE_APPEND })
    .withoutQmp()
    .withExtraArgs('-no-reboot');
  const startedAt = performance.now();
  const proc = await spawnQemu(machine);
  // A signal's teardown ends the probe at once (its QEMU), not after its own limit.
  const stoppable = { stop: () => proc.terminate(budgetMs('killGrace')) };
  trackStoppable(stoppable, true);
  const console = machine.consoleFor(proc, startedAt);
  const marks = probeMarks();
  const steps: Array<[RegExp, string, number]> = [
    [marks.kernel, 'Linux version', spec.kernelMs],
    [marks.init, 'Run /init', spec.initMs],
  ];
  let ms = 0;
  try {
    for (const [pattern, label, limit] of steps) {
      const d = spec.deadline.child(limit, `${name}: ${label}`);
      try {
        const m = await console.waitFor(pattern, { deadline: d, failOn: DEFAULT_FAIL_PATTERNS, exited: proc.exited, what: `accelerator probe (${spec.accel})` });
        ms = m.t;
      } catch (e) {
        if (!(e instanceof ConsoleWaitError)) throw e;
        ms = performance.now() - startedAt;
        return { accel: spec.accel, ok: false, ms, failure: await failureOf(e, label, d.totalMs, proc.exited, proc.stderrTail(5)), tail: console.tail(20) };
      }
    }
    debug('%s: "Run /init" after %d ms', name, Math.round(ms));
    return { accel: spec.accel, ok: true, ms, tail: console.tail(20) };
  } finally {
    await proc.terminate(budgetMs('killGrace'));
    trackStoppable(stoppable, false);
    await console.close();
  }
}

async function failureOf(e: ConsoleWaitError, label: string, limitMs: number, exited: Promise<{ code: number | null; signal: string | null }>, stderr: string[]): Promise<string> {
  switch (e.reason) {
    case 'timeout':
      return `no "${label}" in ${seconds(limitMs)}`;
    case 'failure-pattern':
      return `${e.matchedFailure} before "${label}"`;
    default: {
      const s = await exited;
      const why = stderr.filter((l) => l.trim()).pop();
      return `QEMU exited (${s.signal ?? `code ${s.code}`}) before "${label}"${why ? `: ${why.trim()}` : ''}`;
    }
  }
}

/** "5 s", "0.8 s": whole seconds without a decimal. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) || s >= 10 ? Math.round(s) : s.toFixed(1)} s`;
}

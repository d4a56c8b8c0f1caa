import { budgetMs } from '../common/budgets';
import type { Deadline } from '../common/deadline';
import { qemuLaunchError } from '../common/errors';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';
import { assertGuestAllowed } from './guest-guard';
import { DEFAULT_QEMU_BINARY, QemuMachine, type ProcessGroup, type StartedQemuMachine, type StopStep } from '../qemu-ts-wrapper';

/**
 * How the lab runs qemu-ts-wrapper: its machines' console waits stop at the lab's
 * failure patterns unless a wait names its own, a missing QEMU is a set-up problem,
 * and a stop that had to fall back says so on stderr.
 */
export function labMachine(name: string, runDir: string): QemuMachine {
  return new QemuMachine(name, runDir).withBinary(defaultQemuBinary()).withConsoleFailPatterns(DEFAULT_FAIL_PATTERNS);
}

/**
 * The QEMU every machine of the lab runs unless told otherwise: LTSP_LAB_QEMU, else
 * qemu-system-x86_64 on PATH. The override lets a test put a wrapper in front (e.g. one
 * that behaves like a host whose KVM cannot run the guest).
 */
export function defaultQemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.LTSP_LAB_QEMU || DEFAULT_QEMU_BINARY;
}

/** machine.start(), with a missing QEMU read as a SetupError; refused where no guest may run (guest-guard.ts). */
export async function startQemu(machine: QemuMachine, deadline: Deadline): Promise<StartedQemuMachine> {
  assertGuestAllowed(machine.name);
  try {
    return await machine.start(deadline);
  } catch (e) {
    throw qemuLaunchError(e, machine.argv()[0] as string);
  }
}

/** machine.spawn(), with a missing QEMU read as a SetupError; refused where no guest may run (guest-guard.ts). */
export async function spawnQemu(machine: QemuMachine): Promise<ProcessGroup> {
  assertGuestAllowed(machine.name);
  try {
    return await machine.spawn();
  } catch (e) {
    throw qemuLaunchError(e, machine.argv()[0] as string);
  }
}

/** The shutdown ladder within the lab's QMP quit budget; a fallback to a signal is said on stderr. */
export async function stopQemu(qemu: StartedQemuMachine): Promise<StopStep> {
  const step = await qemu.stop({ quitMs: budgetMs('qmpQuit') });
  if (step === 'sigterm' || step === 'sigkill') process.stderr.write(`lab: QEMU ${qemu.name} did not quit over QMP; stopped it with ${step}\n`);
  return step;
}

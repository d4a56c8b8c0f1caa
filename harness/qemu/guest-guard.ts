import { HarnessError } from '../common/errors';

/**
 * Set in a process that must start no QEMU guest: `./lab test`'s guestless lane
 * (harness/shard/lanes.ts), which runs beside the lane that boots, so the machine never
 * runs more guests than that lane does. Its value names what the process is.
 * Inherited by every process it starts (a nested ./lab too).
 */
export const NO_GUESTS_ENV = 'LTSP_LAB_NO_GUESTS';

/**
 * Refuses a guest (a client, a bench boot, the accelerator probe) where NO_GUESTS_ENV is
 * set: what started it is declared as booting nothing, and is wrong.
 */
export function assertGuestAllowed(machine: string, env: NodeJS.ProcessEnv = process.env): void {
  const lane = env[NO_GUESTS_ENV];
  if (lane === undefined || lane === '') return;
  throw new HarnessError(`QEMU guest '${machine}' started in ${lane}, which runs no guest (${NO_GUESTS_ENV} is set): it would run beside the lane that boots, over the lab's two guests`, {
    hint: 'a file that boots a guest does not belong in GUESTLESS_FILES (harness/shard/lanes.ts)',
  });
}

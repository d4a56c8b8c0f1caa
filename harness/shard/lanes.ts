import { existsSync } from 'node:fs';
import type { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';

/*
 * `./lab test` runs in two lanes at once (the lab script's run_tests). The guest lane runs
 * every e2e file that boots a QEMU guest, one mocha process, pairing its boots as before:
 * never more than two guests. The guestless lane runs, beside it and at the lowest CPU
 * priority (nice 19: on 2 cores the guests take most of the CPU, and a boot slowed by
 * the checks would cost more than the checks), the type-check, lint and unit tests,
 * then the e2e files that boot nothing, under NO_GUESTS_ENV
 * (harness/qemu/guest-guard.ts), so a file listed here that boots is refused, not run as
 * a third guest. The two lanes' reports are parts of one run (part-1, part-2), merged.
 */

/**
 * The e2e files that start no QEMU guest, each with what it runs instead. Only files that
 * leave the host to the other lane: their own labs and scratch folders, no look at the
 * host's Docker images or other runs' containers (image-build's tag diff would see the
 * guest lane's builds, so it stays there), no daemon restarted.
 */
export const GUESTLESS_FILES: Readonly<Record<string, string>> = {
  'scenarios/image-update.e2e.ts': "replayed NBD reads while the served image is replaced, the lab's server alone",
  'scenarios/server-stack.e2e.ts': 'the server container and the lab network, no QEMU',
  'scenarios/storm.e2e.ts': 'ten replayed boots against the real nbd-server, no QEMU',
  'scenarios/test-shards.e2e.ts': 'nested ./lab test runs of tests that boot nothing, in scratch report folders',
};

/**
 * The guest lane's files that need the host to themselves, each with why: they wait for the
 * guestless lane to end (scenarios/support/lanes.ts, hostToItself), and run last in their
 * lane, when it has long ended.
 */
export const HOST_ALONE_FILES: Readonly<Record<string, string>> = {
  'scenarios/gate.e2e.ts': 'the gate times boots against a baseline',
  'scenarios/lab-failures.e2e.ts': 'it kills dockerd, which stops every container',
};

/**
 * Set in the guest lane: the file the guestless lane writes its exit status to as it ends.
 * A file that must have the host to itself (the gate's timed boots, a dockerd kill) waits
 * for it (scenarios/support/lanes.ts). A file, not the lane's pid: by the time those files
 * run, the ended lane's pid may be another process's.
 */
export const GUESTLESS_LANE_DONE_ENV = 'LTSP_LAB_GUESTLESS_LANE_DONE';

export interface Lanes {
  /** The files that boot, in the order given but those of HOST_ALONE_FILES last. */
  guests: string[];
  /** The files that boot nothing (GUESTLESS_FILES), in the order given. */
  guestless: string[];
}

/** `files` split between the lanes, each in the order given, the guest lane's host-alone files last. */
export function splitLanes(files: readonly string[], guestless: Readonly<Record<string, string>> = GUESTLESS_FILES, alone: Readonly<Record<string, string>> = HOST_ALONE_FILES): Lanes {
  const guests = files.filter((f) => !Object.hasOwn(guestless, f));
  return {
    guests: [...guests.filter((f) => !Object.hasOwn(alone, f)), ...guests.filter((f) => Object.hasOwn(alone, f))],
    guestless: files.filter((f) => Object.hasOwn(guestless, f)),
  };
}

/** How often a waiting file looks at the other lane. */
export const LANE_POLL_MS = 500;

/**
 * Waits until the guestless lane has written its status to `doneFile`, within `deadline`;
 * a lane that runs on past it is a HarnessError naming the file.
 */
export async function waitForLaneEnd(doneFile: string, deadline: Deadline): Promise<void> {
  while (!existsSync(doneFile)) {
    if (deadline.expired()) throw new HarnessError(`the guestless lane of ./lab test has not ended (no ${doneFile}) after ${Math.round(deadline.elapsed() / 1000)} s: a file that needs the host to itself cannot start`, { hint: "its log is reports/<run>/guestless-lane.log; the lane's checks or a file of GUESTLESS_FILES hang" });
    await deadline.sleep(LANE_POLL_MS);
  }
}

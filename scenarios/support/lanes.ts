import { GUESTLESS_LANE_DONE_ENV, hostBudgetMs, stepDeadline, waitForLaneEnd } from '../../harness/index';

/**
 * For a file that needs the host to itself (the gate's timed boots; a dockerd kill, which
 * stops every container): waits, within the otherLane budget, until ./lab test's
 * guestless lane has ended (harness/shard/lanes.ts). Run by hand, or in a shard, there is
 * no other lane and it returns at once.
 */
export async function hostToItself(why: string): Promise<void> {
  const done = process.env[GUESTLESS_LANE_DONE_ENV];
  if (done === undefined || done === '') return;
  await waitForLaneEnd(done, stepDeadline(hostBudgetMs('otherLane'), `the guestless lane's end (${why})`));
}

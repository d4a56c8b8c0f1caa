/**
 * How much slower is slower: the one table of the gate's slack, retries and the limits
 * past which the host, not the stack, is to blame. The numbers come from the recorded
 * boots of this host (fixtures/baselines/tcg-2cpu.json and the `gate` bench case).
 */
export interface GatePolicy {
  /** A stage regressed when its median grew by more than all three of: */
  stageRel: number;
  stageAbsMs: number;
  /** ... and the spread (max - min) its own baseline boots showed, times this. */
  stageSpreadK: number;
  /** The same for the whole boot (QEMU start to login). */
  totalRel: number;
  totalAbsMs: number;
  totalSpreadK: number;
  /** Clients booted at once by a baseline and by the bench: one per core of the reference host. */
  clientsAtOnce: number;
  /** Boots again, up to this many rounds, before it calls a regression (judged on the median). */
  retries: number;
  /**
   * Guest speed factor against the baseline's: beyond this ratio either way, normalising is
   * guesswork. The guest speed tracks the boots (a host at x2 booted in twice the time).
   */
  speedRatioMax: number;
  /**
   * Cores of other work beyond the baseline's that make a slower boot the host's fault.
   * Half the reference host: the guests' own waits for a CPU are already taken out of
   * their times, so only a host far busier than the baseline's is left to blame.
   */
  otherLoadSlack: number;
  /** Normalised totals of the boots that differ by more than this share of the baseline total. */
  varyRel: number;
  /**
   * A stage beyond its slack by no more than this share of its baseline time (plus the
   * host's CPU stall during it) is inconclusive, not a regression: the baseline kept in the
   * repo is judged on hosts other than the one that recorded it (CI's, every fresh
   * machine), and the guest speed probe scales the guest's CPU, not the stack's I/O path
   * (NBD over the lab bridge, unionfs-fuse, the server container). On a fresh 2-core TCG
   * host with nothing beside it, an unchanged boot of guest speed 1.04 (the baseline's
   * 0.96) had nbd +24 % and login +27 %; another's login was +46 %.
   */
  otherHostRel: number;
}

export const DEFAULT_GATE_POLICY: Readonly<GatePolicy> = {
  stageRel: 0.25,
  stageAbsMs: 3000,
  stageSpreadK: 1,
  totalRel: 0.1,
  totalAbsMs: 5000,
  totalSpreadK: 1,
  clientsAtOnce: 2,
  retries: 2,
  speedRatioMax: 2.5,
  otherLoadSlack: 1,
  varyRel: 0.3,
  otherHostRel: 0.5,
};

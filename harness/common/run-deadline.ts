import { Deadline } from './deadline';

let run: Deadline | undefined;

/** Default budget of one process's whole run: CI gives 90 minutes; stay well inside. */
const DEFAULT_RUN_BUDGET_S = 80 * 60;

/**
 * The one global deadline of this process's run (cf. the NixOS test driver's global
 * timer), LTSP_LAB_RUN_BUDGET_S seconds from the first use. Every working step's
 * deadline is a child of it, so nothing outlives the run. Teardown does not use it:
 * cleaning up must still happen when the run is out of time.
 */
export function runDeadline(): Deadline {
  if (!run) {
    const s = Number(process.env.LTSP_LAB_RUN_BUDGET_S ?? DEFAULT_RUN_BUDGET_S);
    run = Deadline.after((Number.isFinite(s) && s > 0 ? s : DEFAULT_RUN_BUDGET_S) * 1000, 'the whole run (LTSP_LAB_RUN_BUDGET_S)');
  }
  return run;
}

/** A working step's deadline: `ms`, cut short by what is left of the run. */
export function stepDeadline(ms: number, what: string): Deadline {
  return runDeadline().child(ms, what);
}

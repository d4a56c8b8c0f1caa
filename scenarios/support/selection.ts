/*
 * What this mocha run will run of a suite, once its --grep (the tier's tag and the user's)
 * is applied: a file that starts work for a later suite ahead of time (a boot run beside
 * others) starts it only when that suite's tests run.
 */

let runner: Mocha.Runner | undefined;

/** The run's runner (the root hooks' global setup, support/hooks.ts). */
export function noteRunner(r: Mocha.Runner): void {
  runner = r;
}

/** Whether any test of `suite` runs in this run; without the root hooks, whether it has any. */
export function runsAnyTest(suite: Mocha.Suite): boolean {
  return (runner ? runner.grepTotal(suite) : suite.total()) > 0;
}

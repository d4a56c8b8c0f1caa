import { budgetMs, Deadline, describeLeftovers, HarnessError, listRuns, ownerAlive, pickRun, RunContext, runLeftovers } from '../harness/index';
import { parseCommandLine } from './args';

export const STOP_USAGE = `./lab stop [RUN]

Asks the ./lab boot --keep that owns RUN to tear its lab down (SIGTERM to it, as Ctrl-C
in its terminal would), waits for it to finish, then says what of the run is left on
this machine (nothing, or what ./lab clean reaps). RUN may be left out when only one run
is live (see ./lab ls). Exit 0 when it stopped, 2 for a run that is not live, 5 when it
did not stop in time.
`;

/** ./lab stop [RUN]: ends a kept run through its owner, and counts what is left. */
export async function stop(argv: string[]): Promise<number> {
  const [runId] = parseCommandLine(argv, {}, ['[run]']).args;
  const run = pickRun(listRuns(), runId);
  const owner = run.owner as string;
  const pid = Number(owner.split(':')[0]);
  const t0 = performance.now();
  process.kill(pid, 'SIGTERM');
  // The owner's teardown: its clients' shutdown ladders, the server, the network.
  const d = Deadline.after(budgetMs('stopKept'), `run ${run.id}'s owner (pid ${pid}) to tear down`);
  while (ownerAlive(owner)) {
    if (d.expired()) throw new HarnessError(`run ${run.id}'s owner (pid ${pid}) is still tearing down after ${Math.round(d.totalMs / 1000)} s`, { hint: `kill -9 ${pid}, then ./lab clean` });
    await d.sleep(200);
  }
  const left = await runLeftovers(new RunContext(run.id), Deadline.after(budgetMs('teardown'), `count what run ${run.id} left`));
  const said = `run ${run.id} stopped in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${describeLeftovers(left)}`;
  // Counted, not assumed: a teardown that could not reach Docker leaves things behind.
  if (left.length > 0) throw new HarnessError(said);
  process.stdout.write(`lab stop: ${said}\n`);
  return 0;
}

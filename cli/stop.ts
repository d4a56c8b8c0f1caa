import { budgetMs, Deadline, describeLeftovers, HarnessError, listRuns, ownerAlive, pickRun, RunContext, runLeftovers } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

export const STOP_COMMAND: CommandSpec = {
  name: './lab stop',
  description: `Asks the ./lab boot --keep that owns RUN to tear its lab down (SIGTERM to it, as Ctrl-C
in its terminal would), waits for it to finish, then says what of the run is left on
this machine (nothing, or what ./lab clean reaps). Only a kept run (./lab boot --keep,
its boots over) is stopped: never a boot still running without --keep, nor a test's or
bench's lab. RUN may be left out when only one kept run of yours is live (see ./lab ls).
Exit 0 when it stopped, 2 for a run that is not live, not kept, or another user's, 5
when it did not stop in time.`,
  args: ['[run]'],
  usage: '[--all-users] [RUN]',
  options: { 'all-users': { kind: 'flag', help: 'also stop a kept run another user (uid) started' } },
};

/** ./lab stop [RUN]: ends a kept run through its owner, and counts what is left. */
export async function stop(argv: string[]): Promise<number> {
  const cl = parseCommand(argv, STOP_COMMAND);
  const [runId] = cl.args;
  const anyUser = cl.options.has('all-users');
  const run = pickRun(listRuns(), runId, {
    what: (r) => r.file?.kept === true,
    whatName: 'kept: only a ./lab boot --keep whose boots are over is stopped (Ctrl-C ends a boot in its own terminal)',
    ...(anyUser ? {} : { uid: process.getuid?.() ?? 0, otherUsers: '--all-users' }),
    label: anyUser ? 'kept runs' : 'kept runs of yours',
  });
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

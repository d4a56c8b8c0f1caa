import { attachConsole, budgetMs, Deadline, listRuns, pickRun, UsageError } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

export const ATTACH_COMMAND: CommandSpec = {
  name: './lab attach',
  description: `Attaches this terminal to a kept client's serial console (./lab boot --keep): raw, so
every key goes to the guest, and the guest's tty is told this terminal's size (typed as
"stty rows R cols C" at the next idle shell prompt, and again after each resize: a
serial line carries no size). Ctrl-] q detaches and leaves the lab running; Ctrl-]
Ctrl-] sends a Ctrl-]. Any number of people can attach to one console at once; each
sees the end of what it printed before, then everything it prints.
RUN and CLIENT may be left out when there is only one to choose (see ./lab ls).`,
  args: ['[run]', '[client]'],
  usage: '[RUN] [CLIENT]',
  options: {},
};

/** ./lab attach [RUN] [CLIENT]: this terminal on a kept client's console. */
export async function attach(argv: string[]): Promise<number> {
  const [runId, clientName] = parseCommand(argv, ATTACH_COMMAND).args;
  const run = pickRun(listRuns(), runId, { what: (r) => r.file?.clients.some((c) => c.console) ?? false });
  const clients = (run.file?.clients ?? []).filter((c) => c.console);
  const names = clients.map((c) => c.name).join(', ');
  let client: (typeof clients)[number] | undefined = clients[0];
  if (clientName !== undefined) {
    client = clients.find((c) => c.name === clientName);
    if (!client) throw new UsageError(`run ${run.id} has no client '${clientName}'`, { hint: `its clients: ${names}` });
  } else if (clients.length !== 1) {
    throw new UsageError(`run ${run.id} has ${clients.length} clients: say which`, { hint: `./lab attach ${run.id} CLIENT, one of: ${names}` });
  }
  const c = client as NonNullable<typeof client>;
  const notice = (line: string): void => void process.stderr.write(`\r\nlab: ${line}\r\n`);
  notice(`attached to ${c.name} of run ${run.id} (${c.state}, ${c.stage})`);
  await attachConsole({ socket: c.console as string, deadline: Deadline.after(budgetMs('consoleConnect'), `connect to the console of ${c.name}`), input: process.stdin, output: process.stdout, notice });
  return 0;
}

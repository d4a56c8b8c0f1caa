import { Command, CommanderError } from 'commander';
import { UsageError } from '../harness/index';
import { HELP_WIDTH } from './args';
import { wantsHelp } from './usage';

/** One `./lab` command: its line in `./lab help`, its `--help`, and what runs it. */
export interface LabCommand {
  summary: string;
  /** Its --help (commander's, of the command's declaration: cli/usage.ts). */
  usage: () => string;
  /** Absent for the commands the lab script runs itself (test, setup): listed for help only. */
  run?: (argv: string[]) => Promise<number>;
}

/**
 * `./lab` on commander: it dispatches the command, suggests the likely one for a typo,
 * and prints `./lab help [COMMAND]`. Each command parses its own options (cli/args.ts,
 * also commander) so that unit tests and the bad-input table see one parser.
 */
export function labProgram(commands: Readonly<Record<string, LabCommand>>, write: (s: string) => void): Command {
  const program = new Command('./lab')
    .usage('COMMAND [options]')
    .description('an emulated thin-client lab for LTSP stacks: PXE, a dracut NBD root, a unionfs-fuse overlay')
    .exitOverride()
    .enablePositionalOptions()
    .helpOption(false)
    .configureOutput({ writeOut: write, writeErr: () => undefined })
    .configureHelp({ subcommandTerm: (c) => c.name(), helpWidth: HELP_WIDTH })
    .addHelpText('after', '\n./lab help COMMAND, or ./lab COMMAND --help, for its options.\nExit codes: 0 ok, 2 usage, 3 set-up problem, 4 the system under test failed,\n5 the harness broke, 6 slower than the baseline.');
  for (const [name, c] of Object.entries(commands)) {
    program
      .command(name)
      .summary(c.summary)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .configureHelp({ formatHelp: () => c.usage() })
      .action(async (argv: string[]) => {
        if (wantsHelp(argv)) {
          write(c.usage());
          return;
        }
        if (!c.run) throw new UsageError(`./lab ${name} is run by the lab script: call ./lab ${name}, not its compiled CLI`);
        program.setOptionValue('exitCode', await c.run(argv));
      });
  }
  return program;
}

/** Runs `./lab ARGV`; resolves to the exit code. Help is exit 0; a wrong command is a UsageError. */
export async function runLabProgram(argv: readonly string[], commands: Readonly<Record<string, LabCommand>>, write: (s: string) => void, writeErr: (s: string) => void): Promise<number> {
  const program = labProgram(commands, write);
  if (argv.length === 0) {
    // An empty CI line must fail, with the help where errors go.
    writeErr(program.helpInformation());
    throw new UsageError('no command given', { hint: `one of: ${Object.keys(commands).join(', ')}` });
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.help' || e.code === 'commander.helpDisplayed') return 0;
    const said = e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
    throw new UsageError(said, { hint: `one of: ${Object.keys(commands).join(', ')}; see ./lab help` });
  }
  return (program.getOptionValue('exitCode') as number | undefined) ?? 0;
}

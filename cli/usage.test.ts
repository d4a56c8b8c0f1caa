import { expect } from 'chai';
import { CommanderError } from 'commander';
import { FAULT_KINDS } from '../harness/fault/fault-spec';
import { CLIENT_DIMENSIONS, exitCodeOf, UsageError } from '../harness/index';
import { ALL_STAGE_IDS } from '../harness/results/stage-ids';
import { parseBootArgs, parseCommand, type OptionSpec } from './args';
import { COMMAND_SPECS, usageOf, wantsHelp } from './usage';

/** A value commander takes for the option: its first choice, or a number (what it means is checked later). */
function sample(o: OptionSpec): string[] {
  return o.kind === 'flag' ? [] : [o.choices?.[0] ?? String(o.range?.min ?? 1)];
}

describe('./lab COMMAND --help', () => {
  it('names every option each command parses, with its description: both are made from one declaration', () => {
    for (const [cmd, { parsers }] of Object.entries(COMMAND_SPECS)) {
      const help = usageOf(cmd as keyof typeof COMMAND_SPECS).replace(/\s+/g, ' ');
      for (const spec of parsers) {
        for (const [name, entry] of Object.entries(spec.options)) {
          const o = entry as OptionSpec;
          // The parser takes it (so it is an option the command parses)...
          expect(parseCommand([`--${name}`, ...sample(o), ...(spec.args?.length ? ['x'] : [])], spec).options.has(name), `${cmd} --${name}`).to.equal(true);
          // ...and the help shows it, with what it does.
          expect(help, `${cmd} --${name}`).to.match(new RegExp(`--${name}\\b`));
          expect(o.help, `${cmd} --${name} has a description`).to.be.a('string');
          expect(help, `${cmd} --${name}'s description`).to.include((o.help as string).replace(/\s+/g, ' ').slice(0, 40));
          if (o.choices) expect(help, `${cmd} --${name}'s choices`).to.include(`one of ${o.choices.join(', ')}`);
        }
      }
    }
  });

  it('each help starts with its own command line', () => {
    for (const cmd of Object.keys(COMMAND_SPECS)) expect(usageOf(cmd as keyof typeof COMMAND_SPECS), cmd).to.match(new RegExp(`^Usage: \\./lab ${cmd}\\b`));
  });

  it("shows a fact from the lab's own tables, not a copy (the nbd-server values)", () => {
    expect(usageOf('boot')).to.match(/oldstyle +bookworm's nbdkit --oldstyle/);
  });

  it("explains every fault kind --fault takes (harness/fault's list, the help's words)", () => {
    for (const kind of FAULT_KINDS) expect(usageOf('boot'), kind).to.match(new RegExp(`^ {4}${kind}(:[A-Z]+)? +\\S`, 'm'));
  });

  it("explains every stack --stack takes (the client table's words), and refuses with ltsp23 the very options its help names", () => {
    const help = usageOf('boot');
    for (const stack of CLIENT_DIMENSIONS.stack.values) expect(help, stack).to.match(new RegExp(`^ {4}${stack} +${CLIENT_DIMENSIONS.stack.about[stack].slice(0, 30)}`, 'm'));
    const named = /k12 stack's own options are refused: ([^.]+)\./.exec(help.replace(/\s+/g, ' '))?.[1]?.split(', ') ?? [];
    expect(named, 'the refused options the help names').to.include.members(['--union', '--export', '--root-arg', '--root-path', '--nbd-server']);
    const values: Record<string, string[]> = { '--union': ['overlayfs'], '--export': ['root'], '--root-arg': ['root=nbd:{server}:{export}'], '--root-path': ['nbd:{server}:{export}'], '--nbd-server': ['3.21'] };
    for (const option of named) {
      expect(values, `a value for ${option}`).to.have.property(option);
      expect(() => parseBootArgs(['--stack', 'ltsp23', option, ...(values[option] ?? [])]), option).to.throw(UsageError, `${option} is for the k12 stack`);
      // A refusal of the stack's value, not of the option (so not commander's conflicts): k12 takes it.
      expect(() => parseBootArgs(['--stack', 'k12', option, ...(values[option] ?? [])]), `${option} with k12`).to.not.throw();
    }
  });

  it("names every stage a fault's WHEN takes, each stack's (the fault grammar's list)", () => {
    const help = usageOf('boot');
    for (const id of ALL_STAGE_IDS) expect(help, id).to.match(new RegExp(`^ .*[: ]${id}( |$)`, 'm'));
  });

  it('takes --help or -h anywhere among the arguments, and nothing like them', () => {
    expect(wantsHelp(['--clients', '2', '--help'])).to.equal(true);
    expect(wantsHelp(['-h'])).to.equal(true);
    expect(wantsHelp(['--helpful', '--append', 'help'])).to.equal(false);
  });
});

describe("options that do not go together (commander's conflicts)", () => {
  it('refuses --compare with --keep, in either order, as a usage error (exit 2) from commander, saying why', () => {
    for (const argv of [['--compare', '--keep'], ['--keep', '--compare']]) {
      let caught: unknown;
      try {
        parseBootArgs(argv);
      } catch (e) {
        caught = e;
      }
      expect(caught, argv.join(' ')).to.be.instanceOf(UsageError);
      expect((caught as UsageError).message).to.equal('--compare and --keep do not go together: the gate stops the clients it judged to boot more');
      expect(exitCodeOf(caught)).to.equal(2);
      expect(((caught as UsageError).cause as CommanderError).code).to.equal('commander.conflictingOption');
    }
    expect(parseBootArgs(['--keep']).keep).to.equal(true);
    expect(parseBootArgs(['--compare']).compare).to.equal(true);
  });

  it("lists an option's conflicts in its help", () => {
    expect(usageOf('boot').replace(/\s+/g, ' ')).to.include('not with --fault, --keep, --root-arg, --root-path)');
  });
});

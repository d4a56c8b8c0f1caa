import { expect } from 'chai';
import { UsageError } from '../harness/index';
import { runLabProgram, type LabCommand } from './program';

function lab(calls: string[][]): Record<string, LabCommand> {
  return {
    boot: { summary: 'boot clients', usage: () => './lab boot [--clients N]\n', run: async (argv) => (calls.push(argv), 4) },
    test: { summary: 'the suite', usage: () => './lab test\n' },
  };
}

async function run(argv: string[]): Promise<{ code: number | UsageError; out: string; err: string; calls: string[][] }> {
  const calls: string[][] = [];
  let out = '';
  let err = '';
  try {
    const code = await runLabProgram(argv, lab(calls), (s) => (out += s), (s) => (err += s));
    return { code, out, err, calls };
  } catch (e) {
    expect(e).to.be.instanceOf(UsageError);
    return { code: e as UsageError, out, err, calls };
  }
}

describe('./lab on commander (cli/program.ts)', () => {
  it("hands a command its arguments untouched, options and '--' included, and returns its exit code", async () => {
    const r = await run(['boot', '--clients', '2', '--append', '-x', '--', 'y']);
    expect(r.calls).to.deep.equal([['--clients', '2', '--append', '-x', '--', 'y']]);
    expect(r.code).to.equal(4);
  });

  it('names the likely command for a typo, and lists them all', async () => {
    const r = await run(['bot']);
    expect((r.code as UsageError).message).to.equal("unknown command 'bot' (did you mean boot?)");
    expect((r.code as UsageError).hint).to.include('one of: boot, test');
    expect(r.calls).to.have.length(0);
  });

  it('./lab help lists each command with its summary; ./lab help COMMAND and COMMAND --help print its usage', async () => {
    const all = await run(['help']);
    expect(all.code).to.equal(0);
    expect(all.out).to.match(/boot\s+boot clients/).and.match(/test\s+the suite/);
    for (const argv of [['help', 'boot'], ['boot', '--clients', '2', '--help'], ['boot', '-h']]) {
      const r = await run(argv);
      expect(r.out, argv.join(' ')).to.equal('./lab boot [--clients N]\n');
      expect(r.code).to.equal(0);
      expect(r.calls).to.have.length(0);
    }
  });

  it('no command: the help on stderr and a UsageError (an empty CI line fails)', async () => {
    const r = await run([]);
    expect((r.code as UsageError).message).to.equal('no command given');
    expect(r.err).to.match(/Commands:/);
    expect(r.out).to.equal('');
  });

  it('a command the lab script runs itself is refused by the compiled CLI, with what to call', async () => {
    expect(((await run(['test'])).code as UsageError).message).to.match(/run by the lab script: call \.\/lab test/);
  });
});

import { exitCodeOf, LabError } from '../harness/index';

/** How a ./lab command says it failed, and with which exit code (cli/main.ts's format). */
export function failWith(e: unknown): never {
  const kind = e instanceof LabError ? { usage: 'usage', setup: 'set-up problem', sut: 'the system under test failed', harness: 'the harness broke', regression: 'slower than the baseline' }[e.kind] : 'unexpected error';
  process.stderr.write(`lab: ${kind}: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof LabError && e.hint) process.stderr.write(`lab: hint: ${e.hint}\n`);
  if (!(e instanceof LabError) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(exitCodeOf(e));
}

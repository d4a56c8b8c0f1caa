import { errorKind, exitCodeOf, isKnownError } from '../harness/index';

/** How a ./lab command says it failed, and with which exit code (cli/main.ts's format). */
export function failWith(e: unknown): never {
  const known = errorKind(e);
  const kind = known !== undefined ? { usage: 'usage', setup: 'set-up problem', sut: 'the system under test failed', harness: 'the harness broke', regression: 'slower than the baseline' }[known] : 'unexpected error';
  process.stderr.write(`lab: ${kind}: ${e instanceof Error ? e.message : String(e)}\n`);
  if (isKnownError(e) && e.hint) process.stderr.write(`lab: hint: ${e.hint}\n`);
  if (!isKnownError(e) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(exitCodeOf(e));
}

import {
  exitCodeOf,
  installSignalTeardown,
  LabError,
  UsageError,
} from '../harness/index';
import { attach } from './attach';
import { boot } from './boot';
import { ls } from './ls';
import { stop } from './stop';
import { clean } from './clean';
import { bench } from './bench';
import { build } from './build';
import { USAGES, wantsHelp } from './usage';
import { report } from './report';
import { accel } from './accel';
import { baseline } from './baseline';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  boot,
  accel: (argv) => accel(argv),
  baseline: (argv) => baseline(argv),
  bench: (argv) => bench(argv),
  build: (argv) => build(argv),
  clean: (argv) => clean(argv),
  report: (argv) => report(argv),
  ls: (argv) => ls(argv),
  attach: (argv) => attach(argv),
  stop: (argv) => stop(argv),
};

async function main(): Promise<number> {
  installSignalTeardown();
  const [cmd, ...argv] = process.argv.slice(2);
  const fn = cmd ? COMMANDS[cmd] : undefined;
  if (!fn) throw new UsageError(`unknown command '${cmd ?? ''}'`, { hint: `one of: ${Object.keys(COMMANDS).join(', ')}` });
  const usage = USAGES[cmd as string];
  if (usage && wantsHelp(argv)) {
    process.stdout.write(usage);
    return 0;
  }
  return fn(argv);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const kind = e instanceof LabError ? { usage: 'usage', setup: 'set-up problem', sut: 'the system under test failed', harness: 'the harness broke', regression: 'slower than the baseline' }[e.kind] : 'unexpected error';
    process.stderr.write(`lab: ${kind}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof LabError && e.hint) process.stderr.write(`lab: hint: ${e.hint}\n`);
    if (!(e instanceof LabError) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(exitCodeOf(e));
  },
);

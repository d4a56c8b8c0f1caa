import { ACCEL_COMMAND } from './accel';
import { BASELINE_COMMAND, BENCH_COMMAND, BOOT_COMMAND, helpOf, REPORT_COMMAND, REPORT_HELP, MERGE_COMMAND, SETUP_COMMAND, TEST_COMMAND, type CommandSpec } from './args';
import { ATTACH_COMMAND } from './attach';
import { BISECT_COMMAND } from './bisect';
import { BUILD_COMMAND } from './build';
import { CLEAN_COMMAND } from './clean';
import { LS_COMMAND } from './ls';
import { MATRIX_COMMAND } from './matrix';
import { STOP_COMMAND } from './stop';
import { STORM_COMMAND } from './storm';

/*
 * `./lab COMMAND --help` and `./lab help COMMAND` (cli/program.ts): commander's help of
 * each command's declaration, the one its parser is made from. Printed without
 * installing or starting anything (see ./lab).
 */

/** Each command: the declaration its help is made from, and those its argv is parsed with. */
export const COMMAND_SPECS = {
  boot: { help: BOOT_COMMAND, parsers: [BOOT_COMMAND] },
  build: { help: BUILD_COMMAND, parsers: [BUILD_COMMAND] },
  clean: { help: CLEAN_COMMAND, parsers: [CLEAN_COMMAND] },
  accel: { help: ACCEL_COMMAND, parsers: [ACCEL_COMMAND] },
  bench: { help: BENCH_COMMAND, parsers: [BENCH_COMMAND] },
  storm: { help: STORM_COMMAND, parsers: [STORM_COMMAND] },
  baseline: { help: BASELINE_COMMAND, parsers: [BASELINE_COMMAND] },
  report: { help: REPORT_HELP, parsers: [REPORT_COMMAND, MERGE_COMMAND] },
  bisect: { help: BISECT_COMMAND, parsers: [BISECT_COMMAND] },
  matrix: { help: MATRIX_COMMAND, parsers: [MATRIX_COMMAND] },
  test: { help: TEST_COMMAND, parsers: [TEST_COMMAND] },
  setup: { help: SETUP_COMMAND, parsers: [SETUP_COMMAND] },
  ls: { help: LS_COMMAND, parsers: [LS_COMMAND] },
  attach: { help: ATTACH_COMMAND, parsers: [ATTACH_COMMAND] },
  stop: { help: STOP_COMMAND, parsers: [STOP_COMMAND] },
} as const satisfies Readonly<Record<string, { help: CommandSpec; parsers: readonly CommandSpec[] }>>;

/** Each command's --help text. */
export function usageOf(cmd: keyof typeof COMMAND_SPECS): string {
  return helpOf(COMMAND_SPECS[cmd].help);
}

/** --help or -h among a command's arguments. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

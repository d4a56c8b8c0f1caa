import { benchExitCode, formatBenchReport, runBench } from '../harness/index';
import { parseBenchArgs } from './args';

/** A full bench runs for hours under TCG; each step still has its own deadline. */
const BENCH_RUN_BUDGET_S = 12 * 3600;

/** ./lab bench: see BENCH_COMMAND and issue 5. */
export async function bench(argv: string[]): Promise<number> {
  const opts = parseBenchArgs(argv);
  // Before the first step deadline is taken: the run deadline is fixed at its first use.
  process.env.LTSP_LAB_RUN_BUDGET_S ??= String(BENCH_RUN_BUDGET_S);
  const report = await runBench({ cases: opts.cases, ...(opts.runs === undefined ? {} : { runs: opts.runs }), onProgress: (l) => process.stderr.write(`${l}\n`) });
  const table = formatBenchReport(report);
  if (opts.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    process.stderr.write(`\n${table}\n`);
  } else {
    process.stdout.write(`\n${table}\n`);
  }
  return benchExitCode(report);
}

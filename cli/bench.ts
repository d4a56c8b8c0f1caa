import { benchExitCode, formatBenchReport, runBench } from '../harness/index';
import { parseBenchArgs } from './args';

export const BENCH_USAGE = `./lab bench [--runs N] [--case NAME]... [--json]

Boot benchmarks (issue 5): each case N times (default 3; client 5), then min / median / max,
ratios, and each target met or missed. One QEMU boot at a time except where a case is
about concurrency. Writes reports/bench-<run>/bench.json.

  chain        lab (iPXE, HTTP, NBD) against bare QEMU (-kernel, local disk), union on and off
  client       the ltsp and stock clients side by side, one of each booting at once per round
               (qslot 2): per kind login, initramfs start -> NBD connected, system up -> login,
               ltsp/stock login, and issue 20's targets (ltsp login <= 15 s and <= 0.4x stock,
               initramfs -> NBD <= 3 s, system up -> login <= 5 s) met or missed
  overhead     ./lab boot --json timed from outside: spawn -> QEMU, login -> exit
  concurrency  1, 2 and 4 clients at once from one server
  images       cold build (salted keys, empty cache), warm build, dracut-module-only rebuild
  memory       QEMU RSS and server memory at login; the smallest -m that boots (bisected)
  gate         the regression gate: 10 gated runs of the unchanged stack (false alarms), then
               injected delays (ltsp.test.delay) down to the smallest the gate catches, then 10
               runs and an nbd +20 s run beside a second booting lab (qslot 2); --runs does not apply
  gate-beside  gate's lane beside a second booting lab alone: N gated runs and the nbd +20 s run (qslot 2)
  images-warm  the warm build alone (the quick check ./lab test runs)
  storm        the recorded boot replayed by 1, 10, 30, 100 NBD clients at once (no QEMU): replay
               p95 per N, 30/1 (issue 25: <= 2x), the knee and what each candidate cause measured

--json prints bench.json on stdout and the table on stderr. Exit 0 whatever the numbers;
when a run could not be measured, the code of its failure (3 set-up, 4 a boot failed,
5 the harness broke). A full bench under TCG takes hours; LTSP_LAB_RUN_BUDGET_S caps it.
`;

/** A full bench runs for hours under TCG; each step still has its own deadline. */
const BENCH_RUN_BUDGET_S = 12 * 3600;

/** ./lab bench: see BENCH_USAGE and issue 5. */
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

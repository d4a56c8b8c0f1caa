import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError, REPORTS_ROOT, type TestSelection } from '../../harness/index';

/** The run folder of this `./lab test` (reports/<run>/). */
export function testRunDir(): string {
  return join(REPORTS_ROOT, process.env.LTSP_LAB_TEST_RUN ?? 'test-local');
}

/**
 * What ./lab test planned for this run (its --grep, --shard and files: LTSP_LAB_TEST_SELECTION,
 * written by cli/test-plan.ts) and how long its checks took (LTSP_LAB_TEST_CHECKS_MS, measured
 * by ./lab); undefined when mocha was started by hand.
 */
export function testSelection(): TestSelection | undefined {
  const raw = process.env.LTSP_LAB_TEST_SELECTION;
  if (!raw) return undefined;
  let selection: TestSelection;
  try {
    selection = JSON.parse(raw) as TestSelection;
  } catch (e) {
    throw new HarnessError(`LTSP_LAB_TEST_SELECTION is not JSON (${e instanceof Error ? e.message : String(e)}): ./lab and cli/test-plan.ts disagree`);
  }
  const checks = Number(process.env.LTSP_LAB_TEST_CHECKS_MS);
  if (process.env.LTSP_LAB_TEST_CHECKS_MS && Number.isFinite(checks)) selection.checksMs = checks;
  return selection;
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'x';
}

/** reports/<run>/<suite>/, not created. */
export function suiteReportPath(suite: Mocha.Suite): string {
  return join(testRunDir(), slug(suite.fullTitle()));
}

/** reports/<run>/<suite>/ for a suite's shared artefacts (its lab's server log, ...). */
export function suiteReportDir(suite: Mocha.Suite): string {
  const dir = suiteReportPath(suite);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** reports/<run>/<suite>/<test>/ for one test's artefacts. */
export function testReportDir(test: Mocha.Runnable): string {
  const dir = join(testRunDir(), slug(test.parent?.fullTitle() ?? 'root'), slug(test.title));
  mkdirSync(dir, { recursive: true });
  return dir;
}

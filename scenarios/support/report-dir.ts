import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPORTS_ROOT } from '../../harness/index';

/** The run folder of this `./lab test` (reports/<run>/). */
export function testRunDir(): string {
  return join(REPORTS_ROOT, process.env.LTSP_LAB_TEST_RUN ?? 'test-local');
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

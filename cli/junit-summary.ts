import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Sums a ./lab test run's JUnit files into the plain closing line CI reads:
 * "N passed, N failed, N skipped". The test cases are counted, not the suites' totals:
 * mocha-junit-reporter's tests="" counts a suite's every test, also those --grep left out.
 */
export function junitSummary(dir: string): { passed: number; failed: number; skipped: number } {
  let tests = 0;
  let failed = 0;
  let skipped = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.xml'))) {
    // Each piece runs from one <testcase to the next: its own children, and only closing or opening suite tags besides.
    for (const body of readFileSync(join(dir, f), 'utf8').split(/<testcase\b/).slice(1)) {
      tests++;
      if (/<(failure|error)\b/.test(body)) failed++;
      else if (/<skipped\b/.test(body)) skipped++;
    }
  }
  return { passed: tests - failed - skipped, failed, skipped };
}

if (require.main === module) {
  const s = junitSummary(process.argv[2] ?? 'reports/junit');
  process.stdout.write(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped\n`);
}

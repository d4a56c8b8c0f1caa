import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Sums a ./lab test run's JUnit files into the plain closing line CI reads:
 * "N passed, N failed, N skipped". Each file's <testsuites> root carries its totals.
 */
export function junitSummary(dir: string): { passed: number; failed: number; skipped: number } {
  let tests = 0;
  let failed = 0;
  let skipped = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.xml'))) {
    const root = /<testsuites\b[^>]*>/.exec(readFileSync(join(dir, f), 'utf8'))?.[0];
    if (!root) continue;
    const attr = (name: string): number => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
    tests += attr('tests');
    failed += attr('failures') + attr('errors');
    skipped += attr('skipped');
  }
  return { passed: tests - failed - skipped, failed, skipped };
}

if (require.main === module) {
  const s = junitSummary(process.argv[2] ?? 'reports/junit');
  process.stdout.write(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped\n`);
}

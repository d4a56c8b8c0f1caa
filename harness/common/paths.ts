import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository root: the nearest folder above this file with the `lab` script. The
 * harness runs from its TypeScript sources (tests) or from build/ (the CLI), so a
 * fixed number of '..' would be wrong in one of them.
 */
export function repoRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'lab')) || !existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no ltsp-lab checkout above ${from}`);
    dir = up;
  }
  return dir;
}

/** The `./lab` script at the repository root, for code that runs the CLI as a user would. */
export function labScript(): string {
  return join(repoRoot(), 'lab');
}

/**
 * reports/ at the repo root: every run's report folder, and reports/latest.
 * LTSP_LAB_REPORTS puts them elsewhere (./lab makes it absolute): a ./lab test run
 * inside another's (scenarios/test-shards.e2e.ts) must not write into its reports.
 */
export const REPORTS_ROOT = process.env.LTSP_LAB_REPORTS ? resolve(process.env.LTSP_LAB_REPORTS) : join(repoRoot(), 'reports');

/** fixtures/ at the repo root: recorded consoles and runs, boot-time baselines. */
export const FIXTURES_DIR = join(repoRoot(), 'fixtures');

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/** reports/ at the repo root: every run's report folder, and reports/latest. */
export const REPORTS_ROOT = join(repoRoot(), 'reports');

/** fixtures/ at the repo root: recorded consoles and runs, boot-time baselines. */
export const FIXTURES_DIR = join(repoRoot(), 'fixtures');

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budgetMs } from '../common/budgets';
import { repoRoot } from '../common/paths';
import { e2eFiles } from './test-plan';

/**
 * Mocha loads every end-to-end file of a run, its --grep or --shard notwithstanding, and
 * runs each describe body as it loads; only hooks and tests wait for selection. A temp
 * folder made in a describe body (or at the top of a file) is left by every run that
 * skips the suite whose after hook would remove it: scenarios make theirs in hooks.
 */
describe('the end-to-end files: loading them makes nothing', function () {
  it('mocha --dry-run of every scenario file (each describe body run, no hook, no test) leaves its TMPDIR empty', function () {
    const root = repoRoot();
    const tmp = mkdtempSync(join(tmpdir(), 'ltsp-lab-e2e-load-'));
    try {
      const mocha = join(root, 'node_modules', '.bin', 'mocha');
      const r = spawnSync(mocha, ['--no-config', '--require', 'ts-node/register/transpile-only', '--extension', 'ts', '--dry-run', '--reporter', 'dot', ...e2eFiles(root)], {
        cwd: root,
        env: { ...process.env, TMPDIR: tmp },
        encoding: 'utf8',
        timeout: budgetMs('labCommand'),
      });
      expect(r.status, `mocha --dry-run of the scenarios:\n${r.stdout}\n${r.stderr}`).to.equal(0);
      // Node's own compile cache is no scenario's.
      const left = readdirSync(tmp).filter((n) => !n.startsWith('v8-compile-cache'));
      expect(left, 'made in the temp folder as the scenario files loaded: make them in a before hook').to.deep.equal([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

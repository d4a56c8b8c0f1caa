import { spawnSync } from 'node:child_process';
import { repoRoot } from '../common/paths';
import { budgetMs } from '../common/budgets';

/**
 * The commit the checkout is at, with `-dirty` when tracked files differ from it: what
 * tells a merge that two shards ran the same code. Undefined outside a git checkout
 * (a tarball): a report then simply does not say.
 */
export function sourceCommit(root = repoRoot()): string | undefined {
  // git answers in milliseconds; the timeout is only there so a hung git cannot hang a run.
  const describe = spawnSync('git', ['-C', root, 'describe', '--always', '--dirty', '--abbrev=40', '--match', 'no-tag-matches-this'], { encoding: 'utf8', timeout: budgetMs('gitDescribe') });
  const out = describe.status === 0 ? describe.stdout.trim() : '';
  return out === '' ? undefined : out;
}

import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Deadline } from '../common/deadline';
import { SetupError, UsageError } from '../common/errors';
import { execCommand } from '../common/exec';
import { VM_IMAGES_DIR } from '../images/image-set';

/** The folder of the stack under test in a repository: the only history bisect walks. */
export const STACK_DIR = basename(VM_IMAGES_DIR);

/** One commit as bisect shows it. */
export interface Commit {
  hash: string;
  short: string;
  subject: string;
}

/**
 * The git history of a repository's vm-images/, read with plain git(1) calls. The
 * first-parent history is walked (git bisect --first-parent): a merge that brought a
 * change in is named, not the side branch's commit.
 */
export class StackHistory {
  constructor(readonly repo: string) {}

  private async git(args: string[], deadline: Deadline): Promise<{ code: number; stdout: string; stderr: string }> {
    return execCommand('git', ['-C', this.repo, ...args], { deadline, allowFailure: true });
  }

  /** Checks that the folder is a git work tree (or bare repository). */
  async check(deadline: Deadline): Promise<void> {
    const r = await this.git(['rev-parse', '--git-dir'], deadline);
    if (r.code !== 0) throw new UsageError(`${this.repo} is not a git repository: ${lastLine(r.stderr)}`, { hint: '--repo DIR names a checkout whose history has vm-images/' });
  }

  /** A revision (hash, branch, tag, HEAD~3) as a commit, or a UsageError. */
  async commit(rev: string, deadline: Deadline): Promise<Commit> {
    if (rev.startsWith('-')) throw new UsageError(`'${rev}' is not a commit`);
    const r = await this.git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], deadline);
    if (r.code !== 0) throw new UsageError(`'${rev}' is not a commit in ${this.repo}`, { hint: 'give a hash, branch or tag (git rev-parse must know it)' });
    return this.describe(r.stdout.trim(), deadline);
  }

  private async describe(hash: string, deadline: Deadline): Promise<Commit> {
    const r = await this.git(['log', '-1', '--format=%h%x00%s', hash], deadline);
    const [short, subject] = r.stdout.trim().split('\0');
    return { hash, short: short ?? hash.slice(0, 7), subject: subject ?? '' };
  }

  /**
   * The commits after GOOD up to BAD that change vm-images/, oldest first. A UsageError
   * when GOOD is not an ancestor of BAD, or nothing under vm-images/ changed between them.
   */
  async candidates(good: Commit, bad: Commit, deadline: Deadline): Promise<Commit[]> {
    if (good.hash === bad.hash) throw new UsageError(`GOOD and BAD are the same commit (${good.short})`);
    const anc = await this.git(['merge-base', '--is-ancestor', good.hash, bad.hash], deadline);
    if (anc.code === 1) throw new UsageError(`GOOD ${good.short} is not an ancestor of BAD ${bad.short}`, { hint: 'bisect walks forward from GOOD to BAD: swap them, or pick a GOOD on BAD\'s history' });
    if (anc.code !== 0) throw new SetupError(`git merge-base --is-ancestor failed: ${lastLine(anc.stderr)}`);
    const r = await this.git(['rev-list', '--reverse', '--first-parent', `${good.hash}..${bad.hash}`, '--', STACK_DIR], deadline);
    if (r.code !== 0) throw new SetupError(`git rev-list failed: ${lastLine(r.stderr)}`);
    const hashes = r.stdout.split('\n').filter(Boolean);
    if (hashes.length === 0) {
      throw new UsageError(`nothing under ${STACK_DIR}/ changed between ${good.short} and ${bad.short}: no commit to bisect`, { hint: 'the lab boots only vm-images/; a regression between these commits is not in the stack' });
    }
    const out: Commit[] = [];
    for (const h of hashes) out.push(await this.describe(h, deadline));
    return out;
  }

  /** The tree of vm-images/ at a commit: two commits with the same tree boot the same images. */
  async stackTree(rev: string, deadline: Deadline): Promise<string> {
    const r = await this.git(['rev-parse', '--verify', '--quiet', `${rev}:${STACK_DIR}`], deadline);
    return r.code === 0 ? r.stdout.trim() : '';
  }

  /**
   * Writes vm-images/ as it is at `rev` into `dir`/vm-images (git archive, no .git) and
   * returns that folder. The image keys hash file modes: git archive's default umask
   * (tar.umask 0002) would give 664/775 where a checkout has git's 644/755, and every key
   * would move (a full rebuild, debootstrap included), so the archive gets git's modes.
   */
  async exportStack(rev: string, dir: string, deadline: Deadline): Promise<string> {
    mkdirSync(dir, { recursive: true });
    const tar = join(dir, 'stack.tar');
    try {
      const a = await this.git(['-c', 'tar.umask=0022', 'archive', '--format=tar', '-o', tar, rev, STACK_DIR], deadline);
      if (a.code !== 0) throw new SetupError(`git archive of ${STACK_DIR}/ at ${rev.slice(0, 12)} failed: ${lastLine(a.stderr)}`);
      await execCommand('tar', ['-x', '-f', tar, '-C', dir], { deadline });
    } finally {
      rmSync(tar, { force: true });
    }
    return join(dir, STACK_DIR);
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}

import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand, imageKeys, VM_IMAGES_DIR, type Deadline } from '../../harness/index';

/*
 * A throwaway repository whose vm-images/ history holds a planted break and a planted
 * delay (scenarios/bisect.e2e.ts says which commit is which and why).
 */

export const BREAK = { from: 'mount --move "$NEWROOT" "$base/ro"', to: 'mount --move "$NEWROOT" "$base/r0"' };
/** The planted delay: seconds the union stage sleeps by default (ltsp-test-delay.sh). */
export const DELAY_S = 20;
export const DELAY = { from: 'spec=$(getarg ltsp.test.delay=) || return 0', to: `spec=$(getarg ltsp.test.delay=) || spec=union:${DELAY_S}` };
const UNION_SH = 'vm-images/client/dracut/90ltsp-union/ltsp-union.sh';
const DELAY_SH = 'vm-images/client/dracut/90ltsp-union/ltsp-test-delay.sh';

export interface Planted {
  dir: string;
  /** c0..c7 as hashes. */
  c: string[];
  subjects: string[];
}

export async function git(dir: string, args: string[], deadline: Deadline): Promise<string> {
  return (await execCommand('git', ['-C', dir, ...args], { deadline })).stdout.trim();
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text, `${file} holds '${from}'`).to.include(from);
  writeFileSync(file, text.replace(from, to));
}

/** The throwaway repository and its history (see the top of this file). */
export async function plant(deadline: Deadline): Promise<Planted> {
  const dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-bisect-'));
  try {
    return await plantIn(dir, deadline);
  } catch (e) {
    // The caller gets no Planted to remove: a half-planted repository goes here.
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function plantIn(dir: string, deadline: Deadline): Promise<Planted> {
  await execCommand('git', ['init', '-q', '-b', 'main', dir], { deadline });
  await execCommand('cp', ['-a', VM_IMAGES_DIR, join(dir, 'vm-images')], { deadline });
  const c: string[] = [];
  const subjects: string[] = [];
  const commit = async (subject: string): Promise<void> => {
    await git(dir, ['add', '-A'], deadline);
    await git(dir, ['-c', 'user.name=lab notebook', '-c', 'user.email=lab@localhost', 'commit', '-q', '-m', subject], deadline);
    c.push(await git(dir, ['rev-parse', 'HEAD'], deadline));
    subjects.push(subject);
  };
  const p = (rel: string): string => join(dir, rel);
  await commit('the stack as the lab has it');
  appendFileSync(p('vm-images/build.sh'), '\n# bisect scenario: a comment no image key sees\n');
  await commit('build.sh: a comment');
  edit(p(UNION_SH), BREAK.from, BREAK.to);
  await commit('ltsp-union: move the read-only root under the union base');
  appendFileSync(p('vm-images/lib/common.sh'), '\n# bisect scenario: another comment no image key sees\n');
  await commit('lib/common.sh: a comment');
  edit(p(UNION_SH), BREAK.to, BREAK.from);
  await commit('Revert "ltsp-union: move the read-only root under the union base"');
  appendFileSync(p(UNION_SH), '\n# bisect scenario: a comment in the module (a new initramfs key)\n');
  await commit('ltsp-union.sh: a comment');
  edit(p(DELAY_SH), DELAY.from, DELAY.to);
  await commit(`ltsp-test-delay: the union stage waits ${DELAY_S} s unless told otherwise`);
  appendFileSync(p('vm-images/build.sh'), '# bisect scenario: one more comment\n');
  await commit('build.sh: one more comment');
  return { dir, c, subjects };
}

/** The image keys of each commit (build.sh --keys of its vm-images/). */
export async function commitKeys(repo: string, commits: string[], deadline: Deadline): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (const h of commits) {
    const tmp = mkdtempSync(join(tmpdir(), 'ltsp-lab-bisect-keys-'));
    try {
      await execCommand('sh', ['-c', 'git -C "$1" -c tar.umask=0022 archive "$2" vm-images | tar -x -C "$3"', 'sh', repo, h, tmp], { deadline });
      out.push(await imageKeys({ deadline, dir: join(tmp, 'vm-images') }));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return out;
}


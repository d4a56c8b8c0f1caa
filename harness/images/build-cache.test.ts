import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * vm-images/lib/common.sh's drop_if_stale: the one --rebuild and damage ladder that
 * build.sh's root, initramfs, kernel and initramfs-ltsp folders go through.
 */
const COMMON = join(repoRoot(), 'vm-images', 'lib', 'common.sh');

function ladder(script: string, rebuild = ' '): { out: string; code: number | null } {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; . "$1"; LAB_STEP=test; LAB_REBUILD="$2"; ${script}`, 'test', COMMON, rebuild], { encoding: 'utf8' });
  return { out: `${r.stdout}${r.stderr}`.replace(/\[ltsp-lab build +\d+s\] test: /g, ''), code: r.status };
}

describe('build.sh cache ladder (lib/common.sh drop_if_stale)', () => {
  let dir: string;
  let art: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'build-ladder-'));
    art = join(dir, 'kernel-k1');
    mkdirSync(art);
    writeFileSync(join(art, 'vmlinuz'), 'x');
    writeFileSync(join(art, 'kernel-version'), '6.1\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a whole folder, saying nothing', () => {
    expect(ladder(`drop_if_stale kernel "${art}" missing_file "${art}" vmlinuz kernel-version`)).to.deep.equal({ out: '', code: 0 });
    expect(existsSync(art)).to.equal(true);
  });

  it('drops a folder --rebuild names, and only that artefact', () => {
    expect(ladder(`drop_if_stale kernel "${art}" missing_file "${art}" vmlinuz`, ' initramfs-ltsp ').out).to.equal('');
    expect(existsSync(art)).to.equal(true);
    expect(ladder(`drop_if_stale kernel "${art}" missing_file "${art}" vmlinuz`, ' root kernel ').out).to.equal(`rebuilding ${art} (--rebuild kernel)\n`);
    expect(existsSync(art)).to.equal(false);
  });

  it('drops a damaged folder, naming the first file missing or empty', () => {
    writeFileSync(join(art, 'kernel-version'), '');
    expect(ladder(`drop_if_stale kernel "${art}" missing_file "${art}" vmlinuz kernel-version`).out).to.equal(`${art} is damaged (kernel-version is missing): rebuilding it\n`);
    expect(existsSync(art)).to.equal(false);
  });

  it('lets --heal mend what is wrong first, and keeps the folder when it did', () => {
    rmSync(join(art, 'vmlinuz'));
    const heal = `heal() { [ "$1" = "vmlinuz is missing" ] || return 1; echo "healing: $1" >&2; echo y >"${art}/vmlinuz"; }`;
    expect(ladder(`${heal}; drop_if_stale --heal heal kernel "${art}" missing_file "${art}" vmlinuz kernel-version`).out).to.equal('healing: vmlinuz is missing\n');
    expect(existsSync(join(art, 'vmlinuz'))).to.equal(true);
    rmSync(join(art, 'kernel-version'));
    expect(ladder(`${heal}; drop_if_stale --heal heal kernel "${art}" missing_file "${art}" vmlinuz kernel-version`).out).to.equal(`${art} is damaged (kernel-version is missing): rebuilding it\n`);
  });

  it('a folder that is not there is left to be built', () => {
    expect(ladder(`drop_if_stale kernel "${join(dir, 'none')}" missing_file "${join(dir, 'none')}" vmlinuz`)).to.deep.equal({ out: '', code: 0 });
  });
});

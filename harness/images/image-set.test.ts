import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { SetupError } from '../common/errors';
import { stopAll } from '../common/teardown';
import { buildImages, ImageBuildError } from './image-set';

/** A vm-images/ folder whose build.sh is `script` (bash). */
function fakeRecipe(script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ltsp-fake-images-'));
  writeFileSync(join(dir, 'build.sh'), `#!/bin/bash\n${script}\n`);
  chmodSync(join(dir, 'build.sh'), 0o755);
  return dir;
}

describe('buildImages: what a failed build is', function () {
  this.timeout(20_000);
  const dirs: string[] = [];
  const recipe = (script: string): string => {
    const d = fakeRecipe(script);
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const deadline = (): Deadline => Deadline.after(15_000, 'fake build');

  it('a step that fails: ImageBuildError (a recipe that does not build), naming the step', async () => {
    const dir = recipe(`echo '[ltsp-lab build] FAILED step initramfs: dracut: module ltsp-union not found' >&2; exit 1`);
    const e = await buildImages({ deadline: deadline(), dir }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(ImageBuildError);
    expect((e as Error).message.split('\n')[0]).to.equal('the image build failed: FAILED step initramfs: dracut: module ltsp-union not found');
  });

  it('a disk that fills mid-build: a set-up problem whose headline says space, not a recipe that does not build', async () => {
    const dir = recipe(
      [
        `echo '[ltsp-lab build   3s] root: mke2fs -d ...' >&2`,
        `echo '    | tar: ./usr/lib/x86_64-linux-gnu/libLLVM.so.15: Wrote only 4096 of 10240 bytes' >&2`,
        `echo '    | tar: ./usr/share/doc: Cannot mkdir: No space left on device' >&2`,
        `echo '[ltsp-lab build] FAILED step root: command failed (exit 2): docker export (full log: /x/logs/root.log)' >&2`,
        'exit 1',
      ].join('\n'),
    );
    const e = await buildImages({ deadline: deadline(), dir }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(SetupError);
    expect(e).to.not.be.instanceOf(ImageBuildError);
    expect((e as Error).message.split('\n')[0]).to.match(/^the image build ran out of disk space: FAILED step root: /);
    expect((e as SetupError).hint).to.match(/free space/);
  });

  it('a build stopped by the run\'s teardown (Ctrl-C): not "does not build"', async () => {
    const dir = recipe(`trap 'exit 130' INT; trap 'exit 143' TERM; echo '[ltsp-lab build   0s] base: debootstrap' >&2; sleep 10 & wait`);
    const lines: string[] = [];
    const building = buildImages({ deadline: deadline(), dir, onProgress: (l) => lines.push(l) }).catch((x: unknown) => x);
    await Deadline.after(5000, 'the fake build to start').race(
      (async () => {
        while (lines.length === 0) await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    await stopAll();
    const e = await building;
    expect(e).to.not.be.instanceOf(ImageBuildError);
    expect((e as Error).message).to.match(/^the image build was stopped \(SIGTERM from the run's teardown\)/);
  });
});

import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Deadline } from '../common/deadline';
import { SetupError } from '../common/errors';
import { checkCachedImages, checkInitrdStream, checkRootHash, damageError, rebuildsFor } from './cache-check';

const soon = (): Deadline => Deadline.after(20_000, 'cache check');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function flip(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = (b[0] as number) ^ 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

describe('image cache checks', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lab-cache-check-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a gzip initramfs passes; the same with one byte flipped fails, naming gzip -t', async () => {
    const initrd = join(dir, 'initrd.img');
    writeFileSync(initrd, gzipSync(randomBytes(256 * 1024)));
    expect(await checkInitrdStream(initrd, soon())).to.equal(undefined);
    flip(initrd, 100 * 1024);
    expect(await checkInitrdStream(initrd, soon())).to.match(/^gzip -t: /);
  });

  it('an uncompressed cpio passes; a file that is neither cpio nor a known stream fails', async () => {
    const cpio = join(dir, 'cpio.img');
    writeFileSync(cpio, Buffer.concat([Buffer.from('070701'), randomBytes(64)]));
    expect(await checkInitrdStream(cpio, soon())).to.equal(undefined);
    const junk = join(dir, 'junk.img');
    writeFileSync(junk, Buffer.from('not an initramfs'));
    expect(await checkInitrdStream(junk, soon())).to.match(/neither a cpio archive nor a compressed stream dracut writes \(starts 6e6f/);
  });

  it('the root hash: the recorded one passes, and a change of the same size is caught (the verdict is not kept past a write)', async () => {
    const root = join(dir, 'root.ext4');
    const content = randomBytes(512 * 1024);
    writeFileSync(root, content);
    expect(await checkRootHash(root, sha(content), soon())).to.equal(undefined);
    flip(root, 4096);
    expect(await checkRootHash(root, sha(content), soon())).to.match(/^its sha256 is [0-9a-f]{12}…, [0-9a-f]{12}… when it was built$/);
  });

  it('checkCachedImages reports each damaged artefact with what rebuilds it', async () => {
    const root = join(dir, 'root.ext4');
    const content = randomBytes(4096);
    writeFileSync(root, content);
    const initrd = join(dir, 'initrd.img');
    writeFileSync(initrd, gzipSync(Buffer.from('fine')));
    const files = { rootImage: root, rootSha256: sha(content), kernel: join(dir, 'vmlinuz'), initrd };
    expect(await checkCachedImages(files, soon())).to.deep.equal([{ artefact: 'root', file: files.kernel, why: 'it is missing' }]);
    writeFileSync(files.kernel, 'k');
    expect(await checkCachedImages(files, soon())).to.deep.equal([]);
    rmSync(root);
    expect((await checkCachedImages(files, soon())).map((x) => [x.artefact, x.why])).to.deep.equal([['root', 'it is missing']]);
  });

  it('checkCachedImages of a set without the stock client (build.sh --kinds ltsp) checks the root alone', async () => {
    const root = join(dir, 'root.ext4');
    const content = randomBytes(4096);
    writeFileSync(root, content);
    expect(await checkCachedImages({ rootImage: root, rootSha256: sha(content) }, soon())).to.deep.equal([]);
    flip(root, 100);
    expect((await checkCachedImages({ rootImage: root, rootSha256: sha(content) }, soon())).map((x) => x.artefact)).to.deep.equal(['root']);
  });

  it('damage no rebuild cured is a SetupError (exit 3) whose hint is the command that rebuilds it', () => {
    const damage = [
      { artefact: 'root' as const, file: '/c/root-1/root.ext4', why: 'its sha256 is …' },
      { artefact: 'root' as const, file: '/c/root-1/vmlinuz', why: 'it is missing' },
      { artefact: 'initramfs' as const, file: '/c/initramfs-2/initrd.img', why: 'gzip -t: unexpected end of file' },
    ];
    expect(rebuildsFor(damage)).to.deep.equal(['root', 'initramfs']);
    const e = damageError(damage);
    expect(e).to.be.instanceOf(SetupError);
    expect(e.exitCode).to.equal(3);
    expect(e.message).to.contain('/c/root-1/vmlinuz (it is missing)');
    expect(e.hint).to.equal('./lab build --rebuild root --rebuild initramfs');
  });
});

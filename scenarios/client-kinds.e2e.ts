import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_KINDS, clientSpec, servedBootPaths, type ClientKind, type StartedLab, type StartedThinClient } from '../harness/index';
import { startClient, startSuiteLab } from './support/suite-lab';

/*
 * Issue 20: two clients, one lab. A client of each kind (ltsp: the lab's own kernel and
 * shell initramfs; stock: Debian's kernel and systemd initramfs) boots at once from one
 * server, each from its own kernel and initramfs.
 */
describe('client kinds: an ltsp and a stock client boot side by side from one lab @full', function () {
  let lab: StartedLab | undefined;
  const clients = new Map<ClientKind, StartedThinClient>();

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!);
    for (const kind of CLIENT_KINDS) clients.set(kind, await startClient(lab, kind, (c) => c.boots(clientSpec({ kind }))));
  });

  after(async function () {
    await lab?.stop();
  });

  it('both reach the login prompt', async function () {
    await Promise.all([...clients.values()].map((c) => c.waitForBoot()));
    for (const [kind, c] of clients) expect(c.state, kind).to.equal('up');
  });

  it("each fetched its own kind's kernel and initramfs, and runs that kernel (uname -r)", async function () {
    for (const [kind, c] of clients) {
      const log = readFileSync(join(c.dir, 'console.log'), 'utf8');
      const paths = servedBootPaths(kind);
      expect(log, `${kind}: iPXE fetched its kind's kernel`).to.match(new RegExp(`http://[\\d.]+/${paths.kernel}\\.\\.\\.[\\d% ]* ok`));
      expect(log, `${kind}: iPXE fetched its kind's initramfs`).to.match(new RegExp(`http://[\\d.]+/${paths.initrd}\\.\\.\\.[\\d% ]* ok`));
      for (const other of CLIENT_KINDS.filter((k) => k !== kind)) expect(log, `${kind} fetched ${other}'s files`).to.not.include(`/boot/${other}/`);
      // The kernel the guest runs is the one the image set says it serves to this kind.
      expect(await c.check('uname -r'), `${kind}: uname -r`).to.equal(lab!.kernelVersionFor(c.client));
    }
  });

  it('the two kinds run different kernels', async function () {
    const versions = await Promise.all([...clients.values()].map((c) => c.check('uname -r')));
    expect(new Set(versions).size, `uname -r: ${versions.join(', ')}`).to.equal(CLIENT_KINDS.length);
  });

  it("each client's report says what it booted", function () {
    for (const [kind, c] of clients) {
      const r = c.report();
      expect(r.boots, kind).to.deep.equal(clientSpec({ kind }));
      expect(r.kernelVersion, kind).to.equal(lab!.kernelVersionFor(c.client));
    }
  });
});

import { expect } from 'chai';
import type { StartedThinClient } from '../harness/index';
import { useCoreLab } from './support/core-lab';
import { ROOT_COW } from './support/exports';

/*
 * The export is read-only at the server, not only by the client's mount option
 * (kernel-args.ts mounts the root `ro` either way, so an EROFS alone proves nothing).
 * The evidence is the block device's own read-only flag, which nbd-client sets from the
 * server's NBD_FLAG_READ_ONLY, and a read-write remount that the kernel refuses. The
 * same checks are run against a variant export the server offers writable (copy-on-write,
 * so the image stays untouched): there they must come out the other way, or they could
 * not tell the two apart.
 */
const WRITABLE = ROOT_COW.name;

interface ReadOnlyEvidence {
  /** blockdev --getro /dev/nbd0: 1 read-only. */
  getro: string;
  remountCode: number;
  remountOutput: string;
}

async function evidence(c: StartedThinClient): Promise<ReadOnlyEvidence> {
  const getro = await c.check('blockdev --getro /dev/nbd0');
  const remount = await c.run('mount -o remount,rw /');
  return { getro, remountCode: remount.code, remountOutput: remount.output };
}

describe('read-only contrast: without rd.unionfs=1 the client runs on the plain read-only NBD root @smoke', function () {
  let c1: StartedThinClient;
  let c2: StartedThinClient;
  // The core lab serves root-cow beside root (support/core-lab.ts).
  const core = useCoreLab(this);

  before(async function () {
    await core.lab();
    [c1, c2] = await Promise.all([
      core.client('ro', (c) => c.withUnion('none')),
      core.client('ro-cow', (c) => c.withUnion('none').withExportName(WRITABLE)),
    ]);
    await Promise.all([c1.waitForBoot(), c2.waitForBoot()]);
  });

  after(() => core.release());

  it('the union module laid nothing: no FUSE mount, no @unionfs daemon, no branch under /run/ltsp-union', async function () {
    // The stage matched the module's "off" line; what it did (or failed to leave undone) is on the system.
    expect(await c1.check("findmnt -rn -o TARGET,FSTYPE,SOURCE | awk '$2 ~ /^fuse\\./ || $1 ~ /ltsp-union/'"), 'FUSE or union mounts').to.equal('');
    expect(await c1.check("ps -eo args= | grep '^@unionfs' || true"), 'a union daemon').to.equal('');
    expect(await c1.check('ls -A /run/ltsp-union 2>/dev/null | wc -l'), '/run/ltsp-union holds branches').to.equal('0');
  });

  it('has the NBD ext4 itself as its root, mounted read-only', async function () {
    const root = await c1.check('findmnt -n -o FSTYPE,SOURCE,OPTIONS /');
    expect(root).to.match(/^ext4\s+\/dev\/nbd0\s+ro[,\s]/);
  });

  it('refuses a write with EROFS', async function () {
    const r = await c1.run('touch /etc/ltsp-lab-probe');
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(/Read-only file system/);
  });

  it('the export itself is read-only: /dev/nbd0 is a read-only device, and a read-write remount is refused', async function () {
    const e = await evidence(c1);
    expect(e.getro, 'blockdev --getro /dev/nbd0').to.equal('1');
    expect(e.remountCode, `mount -o remount,rw /: ${e.remountOutput}`).to.not.equal(0);
    expect(e.remountOutput).to.match(/write-protected|read-only/i);
  });

  it(`the same checks tell a writable export apart: on "${WRITABLE}" (copy-on-write) the device is writable and the remount succeeds`, async function () {
    const e = await evidence(c2);
    expect(e.getro, 'blockdev --getro /dev/nbd0').to.equal('0');
    expect(e.remountCode, `mount -o remount,rw /: ${e.remountOutput}`).to.equal(0);
    expect(await c2.check('findmnt -n -o OPTIONS /')).to.match(/^rw[,\s]/);
  });
});

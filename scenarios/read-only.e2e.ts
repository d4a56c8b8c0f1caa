import { expect } from 'chai';
import type { StartedLab, StartedThinClient } from '../harness/index';
import { stageIds, startClient, startSuiteLab } from './support/suite-lab';

describe('read-only contrast: without rd.unionfs=1 the client runs on the plain read-only NBD root', function () {
  let lab: StartedLab | undefined;
  let c1: StartedThinClient;

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!);
    c1 = await startClient(lab, 'c1', (c) => c.withUnion(false));
  });

  after(async function () {
    await lab?.stop();
  });

  it('boots to login, and the union module says it is off', async function () {
    const timeline = await c1.waitForBoot();
    expect(stageIds(timeline)).to.deep.equal(c1.stages.map((s) => s.id));
    expect(timeline.find((s) => s.stage === 'union')!.line).to.match(/ltsp-union: off/);
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
});

import { expect } from 'chai';
import type { StartedLab, StartedThinClient } from '../harness/index';
import { useCoreLab } from './support/core-lab';

describe('stateless: what a client writes lives in RAM and is gone after a reset @smoke', function () {
  let lab: StartedLab | undefined;
  let c1: StartedThinClient;
  let exportHashBefore: string;
  const stamp = `ltsp-lab-${Date.now()}`;
  const core = useCoreLab(this);

  async function exportHash(): Promise<string> {
    const { output } = await lab!.server.sh('sha256sum /srv/ltsp/root.ext4');
    return output.trim().split(/\s+/)[0]!;
  }

  before(async function () {
    lab = await core.lab();
    exportHashBefore = await exportHash();
    c1 = await core.client('stateless');
    await c1.waitForBoot();
  });

  after(() => core.release());

  it('writes files under /etc and /var and reads them back', async function () {
    await c1.check(`echo ${stamp} > /etc/ltsp-lab-probe && mkdir -p /var/lib/ltsp-lab && echo ${stamp} > /var/lib/ltsp-lab/probe`);
    // A file of the read-only branch, changed: unionfs-fuse copies it up to the tmpfs.
    await c1.check(`echo ${stamp} >> /etc/issue`);
    expect(await c1.check('cat /etc/ltsp-lab-probe /var/lib/ltsp-lab/probe')).to.equal(`${stamp}\n${stamp}`);
    expect(await c1.check('tail -n 1 /etc/issue')).to.equal(stamp);
    expect(await c1.check('ls /run/ltsp-union/rw/etc')).to.match(/ltsp-lab-probe/);
  });

  it('after a QMP system_reset it boots again, and the files are gone', async function () {
    const firmwareBefore = c1.console.lines().filter((l) => /iPXE initialising devices/.test(l.text)).length;
    await c1.reset();
    await c1.waitForBoot();
    // A boot of its own, from the firmware on: one more iPXE start on the console.
    expect(c1.console.lines().filter((l) => /iPXE initialising devices/.test(l.text)).length).to.equal(firmwareBefore + 1);
    const probe = await c1.run('ls /etc/ltsp-lab-probe /var/lib/ltsp-lab/probe');
    expect(probe.code, probe.output).to.not.equal(0);
    expect(probe.output).to.match(/No such file or directory/);
    expect(await c1.check('cat /etc/issue')).to.not.include(stamp);
  });

  it("leaves the server's exported image byte for byte as it was", async function () {
    const after = await exportHash();
    expect(after).to.equal(exportHashBefore);
    expect(after).to.equal(lab!.manifest.rootSha256);
  });
});

import { expect } from 'chai';
import { UNION_BRANCHES, type StageMark, type StartedLab, type StartedThinClient, type UnionMethod } from '../harness/index';
import { useCoreLab } from './support/core-lab';

/**
 * Both union methods of the k12 stack (docs/union-methods.md), one client each, booting at
 * once in the core lab: the seed's unionfs-fuse and the kernel overlay it mimics. Each must
 * keep what it is written in RAM (the tmpfs the union writes to) and nothing of it on the
 * NBD root, and lose it with a reset.
 */
const METHODS = [
  { method: 'unionfs-fuse', name: 'stateless', rootFs: 'fuse.@unionfs' },
  { method: 'overlayfs', name: 'stateless-ovl', rootFs: 'overlay' },
] as const satisfies readonly { method: Exclude<UnionMethod, 'none'>; name: string; rootFs: string }[];

describe('stateless: what a client writes lives in RAM and is gone after a reset @smoke', function () {
  let lab: StartedLab | undefined;
  const clients = new Map<UnionMethod, StartedThinClient>();
  const timelines = new Map<UnionMethod, StageMark[]>();
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
    const started = await Promise.all(METHODS.map((m) => core.client(m.name, (c) => c.withUnion(m.method))));
    const booted = await Promise.all(started.map((c) => c.waitForBoot()));
    METHODS.forEach((m, i) => {
      clients.set(m.method, started[i]!);
      timelines.set(m.method, booted[i]!);
    });
  });

  after(() => core.release());

  for (const { method, rootFs } of METHODS) {
    const { ro, upper } = UNION_BRANCHES[method];

    it(`${method}: boots on the ${method} union: the union stage's line names it, and / is ${rootFs}`, async function () {
      const c = clients.get(method)!;
      expect(timelines.get(method)!.find((s) => s.stage === 'union')!.line).to.match(new RegExp(`ltsp-union: mounted ro=/dev/nbd0 .*method=${method}`));
      expect(await c.check('findmnt -n -o FSTYPE /')).to.equal(rootFs);
    });

    it(`${method}: writes files under /etc and /var and reads them back; they land in the tmpfs at ${upper}, not on the NBD root`, async function () {
      const c = clients.get(method)!;
      await c.check(`echo ${stamp} > /etc/ltsp-lab-probe && mkdir -p /var/lib/ltsp-lab && echo ${stamp} > /var/lib/ltsp-lab/probe`);
      // A file of the read-only branch, changed: the union copies it up to the tmpfs.
      await c.check(`echo ${stamp} >> /etc/issue`);
      expect(await c.check('cat /etc/ltsp-lab-probe /var/lib/ltsp-lab/probe')).to.equal(`${stamp}\n${stamp}`);
      expect(await c.check('tail -n 1 /etc/issue')).to.equal(stamp);
      expect(await c.check(`cat ${upper}/etc/ltsp-lab-probe ${upper}/var/lib/ltsp-lab/probe`), 'the writes, in the upper branch').to.equal(`${stamp}\n${stamp}`);
      expect(await c.check(`findmnt -n -o FSTYPE -T ${upper}`), 'the upper branch is RAM').to.equal('tmpfs');
      // The lower branch is the NBD root, read-only and unchanged: no new file, the old /etc/issue.
      expect(await c.check(`findmnt -n -o FSTYPE,SOURCE,OPTIONS ${ro}`)).to.match(/^ext4\s+\/dev\/nbd0\s+ro[,\s]/);
      expect((await c.run(`ls ${ro}/etc/ltsp-lab-probe ${ro}/var/lib/ltsp-lab`)).code, 'a write on the NBD root').to.not.equal(0);
      expect(await c.check(`cat ${ro}/etc/issue`)).to.not.include(stamp);
    });
  }

  // After the writes: mocha runs a describe's own tests in the order written, before any nested describe's.
  it(`after a QMP system_reset each boots again (${METHODS.map((m) => m.method).join(' and ')} at once), and the files are gone`, async function () {
    const iPxeStarts = (c: StartedThinClient): number => c.console.lines().filter((l) => /iPXE initialising devices/.test(l.text)).length;
    // Written here too (the test may run alone, under --grep), and read back: the reset has something to lose.
    for (const { method } of METHODS) {
      const c = clients.get(method)!;
      await c.check(`echo ${stamp} > /etc/ltsp-lab-probe && mkdir -p /var/lib/ltsp-lab && echo ${stamp} > /var/lib/ltsp-lab/probe && echo ${stamp} >> /etc/issue`);
      expect(await c.check('cat /etc/ltsp-lab-probe /var/lib/ltsp-lab/probe'), method).to.equal(`${stamp}\n${stamp}`);
    }
    const before = METHODS.map((m) => iPxeStarts(clients.get(m.method)!));
    await Promise.all(
      METHODS.map(async (m) => {
        const c = clients.get(m.method)!;
        await c.reset();
        await c.waitForBoot();
      }),
    );
    for (const [i, { method, rootFs }] of METHODS.entries()) {
      const c = clients.get(method)!;
      // A boot of its own, from the firmware on: one more iPXE start on the console.
      expect(iPxeStarts(c), method).to.equal(before[i]! + 1);
      const probe = await c.run('ls /etc/ltsp-lab-probe /var/lib/ltsp-lab/probe');
      expect(probe.code, `${method}: ${probe.output}`).to.not.equal(0);
      expect(probe.output, method).to.match(/No such file or directory/);
      expect(await c.check('cat /etc/issue'), method).to.not.include(stamp);
      expect(await c.check('findmnt -n -o FSTYPE /'), `${method}: the same union again`).to.equal(rootFs);
    }
  });

  it("leaves the server's exported image byte for byte as it was", async function () {
    const after = await exportHash();
    expect(after).to.equal(exportHashBefore);
    expect(after).to.equal(lab!.manifest.rootSha256);
  });
});

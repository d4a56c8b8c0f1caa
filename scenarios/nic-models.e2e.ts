import { expect } from 'chai';
import type { StartedThinClient } from '../harness/index';
import { useCoreLab } from './support/core-lab';

/*
 * The NICs ./lab boot --nic offers besides virtio-net, as thin clients in the field have
 * them: each PXE-boots with its own iPXE ROM, and the initramfs brings the NIC's driver
 * (vm-images/client/dracut/prune-modules.list keeps them), or the boot stops at "NBD
 * connected" with no network.
 */
const MODELS = [
  { model: 'e1000', name: 'intel', driver: 'e1000', pci: '0x8086:0x100e' },
  // QEMU's rtl8139 is an 8139C+ (revision 0x20): 8139too leaves it to 8139cp.
  { model: 'rtl8139', name: 'realtek', driver: '8139cp', pci: '0x10ec:0x8139' },
] as const;

describe('NIC models: an e1000 and an rtl8139 client boot to login, each on its own driver @full', function () {
  const clients: StartedThinClient[] = [];
  const core = useCoreLab(this);

  before(async function () {
    await core.lab();
    for (const m of MODELS) clients.push(await core.client(m.name, (c) => c.withNic(m.model)));
  });

  after(() => core.release());

  it('both reach the login prompt, two at once', async function () {
    await Promise.all(clients.map((c) => c.waitForBoot()));
  });

  for (const [i, m] of MODELS.entries()) {
    it(`the ${m.model} client's lab0 is driven by ${m.driver}, and its root is the NBD union`, async function () {
      const c = clients[i]!;
      expect(await c.check('echo "$(cat /sys/class/net/lab0/device/vendor):$(cat /sys/class/net/lab0/device/device)"'), 'the PCI id of the NIC').to.equal(m.pci);
      expect(await c.check('basename "$(readlink /sys/class/net/lab0/device/driver)"')).to.equal(m.driver);
      expect(await c.check('findmnt -n -o FSTYPE /')).to.equal('fuse.@unionfs');
      expect(await c.check('cat /sys/block/nbd0/size')).to.match(/^[1-9]\d*$/);
    });
  }
});

import { expect } from 'chai';
import { QemuConfigError } from './errors';
import { QemuMachine } from './qemu-machine';

const RUN = '/run/ltsp-lab/abc123/c1';
const MAC = '52:54:00:12:34:56';

/** Everything argv() emits before the NICs, for a machine named c1 in RUN. */
function head(accel: string[], memory = '384', cpus = '1'): string[] {
  return [
    'qemu-system-x86_64', '-name', 'c1,process=qemu-c1',
    '-machine', 'pc',
    ...accel,
    '-m', memory, '-smp', cpus,
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
    '-fw_cfg', `name=etc/sercon-port,file=${RUN}/sercon-port`,
    '-qmp', `unix:${RUN}/c1.qmp,server=on,wait=off`,
    '-pidfile', `${RUN}/c1.pid`,
  ];
}

const TCG = ['-accel', 'tcg,tb-size=256'];
const KVM = ['-accel', 'kvm', '-cpu', 'host'];

/** The thin client as Lab builds it: 384 MB, network boot first, one virtio NIC. */
function pxeClient(): QemuMachine {
  return new QemuMachine('c1', RUN)
    .withMemory(384)
    .withBootOrder('n')
    .withNic({ model: 'virtio-net-pci', mac: MAC, tap: 'lttabc123c1' });
}

/** The argument after `option`. */
function valueOf(argv: string[], option: string): string | undefined {
  const i = argv.indexOf(option);
  return i < 0 ? undefined : argv[i + 1];
}

function configError(fn: () => unknown): QemuConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(QemuConfigError);
    return e as QemuConfigError;
  }
  return expect.fail('expected a QemuConfigError');
}

describe('QemuMachine#argv', () => {
  it('builds the PXE client under TCG', () => {
    expect(pxeClient().withAccel('tcg').argv()).to.deep.equal([
      ...head(TCG),
      '-netdev', 'tap,id=net0,ifname=lttabc123c1,script=no,downscript=no',
      '-device', `virtio-net-pci,netdev=net0,mac=${MAC},bootindex=1`,
      '-boot', 'order=n,strict=on',
    ]);
  });

  it('builds the PXE client under KVM, with the host CPU and no translation cache', () => {
    expect(pxeClient().withAccel('kvm').argv()).to.deep.equal([
      ...head(KVM),
      '-netdev', 'tap,id=net0,ifname=lttabc123c1,script=no,downscript=no',
      '-device', `virtio-net-pci,netdev=net0,mac=${MAC},bootindex=1`,
      '-boot', 'order=n,strict=on',
    ]);
  });

  it('takes the TCG translation cache size', () => {
    expect(valueOf(pxeClient().withAccel('tcg', 64).argv(), '-accel')).to.equal('tcg,tb-size=64');
  });

  it('gives two NICs their own netdev, and only the first one the boot index', () => {
    const argv = new QemuMachine('c1', RUN)
      .withAccel('tcg')
      .withMemory(512)
      .withCpus(2)
      .withBootOrder('n')
      .withNic({ model: 'e1000', mac: '52:54:00:AA:00:01', tap: 'lttabc123c1' })
      .withNic({ model: 'rtl8139', mac: '52:54:00:aa:00:02', tap: 'lttabc123c1b' })
      .argv();
    expect(argv).to.deep.equal([
      ...head(TCG, '512', '2'),
      '-netdev', 'tap,id=net0,ifname=lttabc123c1,script=no,downscript=no',
      '-device', 'e1000,netdev=net0,mac=52:54:00:aa:00:01,bootindex=1',
      '-netdev', 'tap,id=net1,ifname=lttabc123c1b,script=no,downscript=no',
      '-device', 'rtl8139,netdev=net1,mac=52:54:00:aa:00:02',
      '-boot', 'order=n,strict=on',
    ]);
  });

  it('boots a kernel directly from a read-only virtio disk, without a boot order or boot index', () => {
    const argv = new QemuMachine('c1', RUN)
      .withAccel('kvm')
      .withNic({ model: 'virtio-net-pci', mac: MAC, tap: 'lttabc123c1' })
      .withDisk({ path: '/images/root.ext4', readOnly: true, iface: 'virtio' })
      .withDisk({ path: '/tmp/scratch.img', readOnly: false, iface: 'ide' })
      .withDirectKernel({ kernel: '/images/vmlinuz', initrd: '/images/initrd.img', append: 'root=/dev/vda ro console=ttyS0,115200' })
      .argv();
    expect(argv).to.deep.equal([
      ...head(KVM),
      '-netdev', 'tap,id=net0,ifname=lttabc123c1,script=no,downscript=no',
      '-device', `virtio-net-pci,netdev=net0,mac=${MAC}`,
      '-drive', 'file=/images/root.ext4,format=raw,if=virtio,index=0,cache=unsafe,readonly=on',
      '-drive', 'file=/tmp/scratch.img,format=raw,if=ide,index=1,cache=unsafe',
      '-kernel', '/images/vmlinuz', '-initrd', '/images/initrd.img', '-append', 'root=/dev/vda ro console=ttyS0,115200',
    ]);
  });

  it('appends extra arguments last, in order, and honours binary and machine type', () => {
    const argv = pxeClient()
      .withAccel('tcg')
      .withBinary('/opt/qemu/bin/qemu-system-x86_64')
      .withMachine('q35')
      .withExtraArgs('-d', 'guest_errors')
      .withExtraArgs('-no-reboot')
      .argv();
    expect(argv[0]).to.equal('/opt/qemu/bin/qemu-system-x86_64');
    expect(argv.slice(3, 5)).to.deep.equal(['-machine', 'q35']);
    expect(argv.slice(-5)).to.deep.equal(['-boot', 'order=n,strict=on', '-d', 'guest_errors', '-no-reboot']);
  });

  it('is pure: calling it twice gives the same array', () => {
    const m = pxeClient().withAccel('tcg');
    expect(m.argv()).to.deep.equal(m.argv());
  });
});

describe('QemuMachine builder checks', () => {
  it('refuses memory below 64 MB and above 64 GiB, naming the range', () => {
    expect(configError(() => new QemuMachine('c1', RUN).withMemory(12)).message).to.match(/memory 12 MB is out of range: give 64 to 65536 MB/);
    expect(configError(() => new QemuMachine('c1', RUN).withMemory(100000)).message).to.match(/memory 100000 MB is out of range/);
    expect(configError(() => new QemuMachine('c1', RUN).withMemory(384.5)).message).to.match(/out of range/);
  });

  it('accepts the memory bounds themselves', () => {
    expect(valueOf(new QemuMachine('c1', RUN).withMemory(64).argv(), '-m')).to.equal('64');
    expect(valueOf(new QemuMachine('c1', RUN).withMemory(65536).argv(), '-m')).to.equal('65536');
    expect(valueOf(new QemuMachine('c1', RUN).withCpus(16).argv(), '-smp')).to.equal('16');
  });

  it('refuses zero CPUs, and more than 16', () => {
    expect(configError(() => new QemuMachine('c1', RUN).withCpus(0)).message).to.match(/cpus 0 is out of range: give 1 to 16/);
    expect(configError(() => new QemuMachine('c1', RUN).withCpus(17)).message).to.match(/cpus 17 is out of range/);
  });

  it('refuses a malformed MAC, quoting it', () => {
    for (const mac of ['52:54:00:12:34', '52-54-00-12-34-56', '52:54:00:12:34:5g', '5254.0012.3456', '']) {
      const err = configError(() => new QemuMachine('c1', RUN).withNic({ model: 'e1000', mac, tap: 't0' }));
      expect(err.message, mac).to.include(`MAC '${mac}' is not of the form`);
    }
  });

  it('refuses the same MAC twice, whatever its case', () => {
    const m = new QemuMachine('c1', RUN).withNic({ model: 'e1000', mac: '52:54:00:ab:cd:ef', tap: 't0' });
    const err = configError(() => m.withNic({ model: 'e1000', mac: '52:54:00:AB:CD:EF', tap: 't1' }));
    expect(err.message).to.equal('MAC 52:54:00:ab:cd:ef is given twice on c1');
  });
});

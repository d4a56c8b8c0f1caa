import { expect } from 'chai';
import { join } from 'node:path';
import { Deadline, inSubnet, LAB_HOSTS, readConsoleLog, type StartedLab, type StartedThinClient } from '../harness/index';
import { stageIds, startClient, startSuiteLab } from './support/suite-lab';

describe('boot to login: one thin client PXE-boots through the whole chain', function () {
  let lab: StartedLab | undefined;
  let c1: StartedThinClient;

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!);
    c1 = await startClient(lab, 'c1');
  });

  after(async function () {
    await lab?.stop();
  });

  it('passes every stage, in order, from iPXE to the login prompt on ttyS0', async function () {
    const timeline = await c1.waitForBoot();
    // waitForBoot resolves only once every stage was seen in order, so the timeline alone
    // proves nothing; the console log on disk is a record of its own: each stage's line is
    // there, in the same order, at the time the stage was stamped.
    // The login prompt's line ends only once the shell answers (the file holds whole lines).
    await c1.check('true');
    await c1.console.synced(Deadline.after(5000, 'console log written out'));
    // This QEMU's lines: the file is appended to by every run that reports into this folder.
    const log = readConsoleLog(join(c1.dir, 'console.log')).slice(-c1.console.lines().length);
    let at = -1;
    for (const mark of timeline) {
      const i = log.findIndex((l, j) => j > at && l.text.startsWith(mark.line));
      expect(i, `${mark.label}: "${mark.line}" in console.log after line ${at}`).to.be.greaterThan(at);
      // A line is logged at its first byte; the stage is stamped when its pattern completes.
      expect(log[i]!.t, `${mark.label}: its line began by the time it was stamped`).to.be.at.most(mark.t + 2); // the file rounds to ms
      at = i;
    }
    expect(stageIds(timeline)).to.deep.equal(c1.stages.map((s) => s.id));
    // The stage is stamped as soon as its pattern shows, maybe before the line is complete.
    expect(timeline.find((s) => s.stage === 'union')!.line).to.match(/ltsp-union: mounted ro=\/dev\/nbd0/);
  });

  it('runs under the accelerator the probe chose: QEMU was given it, and the guest sees it', async function () {
    const argv = c1.qemu.commandLine();
    expect(argv, 'QEMU still running').to.not.equal(null);
    const accel = argv![argv!.indexOf('-accel') + 1];
    expect(accel, `-accel of ${argv!.join(' ')}`).to.match(new RegExp(`^${lab!.speed.accel}(,|$)`));
    expect(lab!.speed.accelReason, 'the verdict says why').to.match(/-> tcg|^kvm \(|^tcg \(LTSP_LAB_ACCEL/);
    // systemd-detect-virt(1) reads CPUID: "kvm" names KVM's signature leaf, "qemu" is TCG.
    const virt = (await c1.run('systemd-detect-virt')).output.trim();
    expect(virt).to.equal(lab!.speed.accel === 'kvm' ? 'kvm' : 'qemu');
  });

  it("got its address from the lab server's DHCP range, and the server holds the lease", async function () {
    const ip = c1.leaseIp;
    expect(ip, 'lease address on the console').to.be.a('string');
    expect(inSubnet(lab!.network.subnet, ip!), `${ip} in ${lab!.network.subnet}`).to.equal(true);
    expect(Number(ip!.split('.')[3]), `${ip} inside the DHCP range`).to.be.within(LAB_HOSTS.dhcpFirst, LAB_HOSTS.dhcpLast);
    const leases = await lab!.server.leases();
    expect(leases.get(c1.mac)).to.equal(ip);
  });

  it('runs on the unionfs-fuse union as its root, as the console shows', async function () {
    const root = await c1.check('findmnt -n -o FSTYPE,SOURCE,OPTIONS /');
    expect(root).to.match(/^fuse\.@?unionfs\s+@?unionfs\s+rw/);
    // The branches came along when systemd moved /run into the new root at switch_root.
    const branches = await c1.check('findmnt -rn -o TARGET,FSTYPE,OPTIONS');
    expect(branches).to.match(/^\/run\/ltsp-union\/ro ext4 ro/m);
    expect(branches).to.match(/^\/run\/ltsp-union\/rw tmpfs rw/m);
  });

  it('has no route out of the lab: the lease gives no router, the client has no default route', async function () {
    const routes = await c1.check('ip -4 route show');
    expect(routes).to.not.match(/^default/m);
    expect(routes).to.match(new RegExp(`^${lab!.network.subnet.replace(/\./g, '\\.')} dev `, 'm'));
  });

  it("runs on iPXE's lease: lab0 (the NIC that booted) holds the leased address, and no DHCP client ran", async function () {
    const addr = await c1.check('ip -4 -o addr show dev lab0');
    expect(addr).to.include(` inet ${c1.leaseIp}`);
    const dhcp = await c1.check('ls /var/lib/dhcp/ /run/initramfs/ 2>/dev/null | grep -c lease || true');
    expect(dhcp.trim()).to.equal('0');
    const journal = await c1.check('journalctl -b --no-pager -q | grep -c -e dhclient -e DHCPDISCOVER || true');
    expect(journal.trim(), 'dhclient ran in the initramfs').to.equal('0');
  });

  it('loaded none of the drivers the client image leaves out (floppy, IDE, KVM, PC speaker, PS/2 mouse)', async function () {
    const loaded = await c1.check("cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' '");
    for (const m of ['floppy', 'ata_piix', 'kvm', 'kvm_amd', 'kvm_intel', 'pcspkr', 'psmouse', 'i2c_piix4']) {
      expect(loaded.split(' '), `module ${m} is loaded`).to.not.include(m);
    }
    expect(loaded.split(' '), 'the NIC driver').to.include('virtio_net');
  });

  it("waits 10 min, not systemd's 90 s, for a late device: a slow host delays the serial getty instead of losing it", async function () {
    // Four TCG clients on two cores brought udev up after the 90 s default: dev-ttyS0.device
    // timed out, serial-getty@ttyS0 failed on the dependency and no login prompt ever came.
    const timeout = await c1.check('systemctl show --property=DefaultDeviceTimeoutUSec');
    expect(timeout.trim(), 'system.conf.d/ltsp-lab.conf of the client root').to.equal('DefaultDeviceTimeoutUSec=10min');
    const getty = await c1.check('systemctl show --property=ActiveState,Result serial-getty@ttyS0.service | sort | tr "\\n" " "');
    expect(getty.trim()).to.equal('ActiveState=active Result=success');
  });

  it("keeps the union daemon as a root-storage daemon (argv[0] '@unionfs') after switch_root", async function () {
    const out = await c1.check("ps -eo pid=,args= | grep -v grep | grep unionfs");
    expect(out).to.match(/^\s*\d+ @unionfs .*cow/m);
  });
});

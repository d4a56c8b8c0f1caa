import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { clientSpec, Deadline, DEFAULT_CLIENT_SPEC, execCommand, inSubnet, inspectKvmDevice, kvmDevicePath, LAB_HOSTS, readConsoleLog, type StartedLab, type StartedThinClient, hostBudgetMs } from '../harness/index';
import { useCoreLab } from './support/core-lab';
import { stageIds } from './support/suite-lab';

/** A TCP listener on the host that notes who connects; '::' is every address, v4 and v6. */
async function listen(host: string): Promise<{ port: number; peers: string[]; close(): Promise<void> }> {
  const peers: string[] = [];
  const server = createServer((s) => {
    peers.push(`${s.remoteAddress} -> ${host}`);
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, ipv6Only: false }, resolve);
  });
  return { port: (server.address() as AddressInfo).port, peers, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * From `c1`, connects to listeners the host starts: one on the bridge's host address, one
 * on every address, reached at each address the host holds on the bridge and at one off
 * it through a route via the bridge. Fails unless each attempt goes unanswered while the
 * same probe reaches the server's httpd.
 */
async function probeHost(lab: StartedLab, c1: StartedThinClient): Promise<void> {
  const d = Deadline.after(hostBudgetMs('guestProbe'), "probe the host's listeners from c1");
  const net = lab.network;
  const onBridge = [...(await execCommand('ip', ['-o', 'addr', 'show', 'dev', net.bridge], { deadline: d })).stdout.matchAll(/ inet6? ([0-9a-f.:]+)\//g)].map((m) => m[1]!);
  expect(onBridge, `the host's addresses on ${net.bridge}`).to.include(net.gateway);
  // An address of the host off the lab bridge (docker0's, eth0's): c1 reaches it only through a route via the bridge address.
  const global = (await execCommand('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { deadline: d })).stdout;
  const offBridge = [...global.matchAll(/^\d+: (\S+)\s+inet ([0-9.]+)\//gm)].find((m) => !m[1]!.startsWith('ltl') && !inSubnet(net.subnet, m[2]!))?.[2];
  expect(offBridge, `a host address off the lab bridges in:\n${global}`).to.be.a('string');
  const bridgeOnly = await listen(net.gateway);
  const everywhere = await listen('::');
  try {
    const targets = [
      [net.gateway, bridgeOnly.port],
      ...onBridge.map((a) => [a.startsWith('fe80:') ? `${a}%lab0` : a, everywhere.port]),
      [offBridge!, everywhere.port],
    ] as const;
    // Each connect runs 4 s at most: 124 (timed out) is a SYN that went out and got no answer.
    const probe = `p() { timeout 4 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; echo "probe $1 $2 $?"; }`;
    // The server's router advertisement gives c1 no address in the lab's v6 subnet; a root shell takes one.
    const v6 = net.ipv6Subnet ? `${net.ipv6Subnet.replace(/::\/64$/, '::c1')}/64` : undefined;
    const setUp = [`ip route replace ${offBridge}/32 via ${net.gateway} dev lab0`, ...(v6 ? [`ip -6 addr replace ${v6} dev lab0 nodad`] : [])];
    const undo = [`ip route del ${offBridge}/32`, ...(v6 ? [`ip -6 addr del ${v6} dev lab0`] : [])];
    const out = await c1.check(
      // After the probes, c1's IPv6 neighbours: a link-local target that comes back 1 (unreachable) with its entry FAILED
      // is neighbour discovery unanswered, not the guard's drop; the message shows which (a flake seen in about 1 run of 5 on this host, not yet understood).
      `${probe}; ${setUp.join('; ')}; for t in ${[[lab.server.ip, 80], ...targets].map(([a, p]) => `'${a} ${p}'`).join(' ')}; do p $t & done; wait; ip -6 neigh show dev lab0 | sed 's/^/neigh /'; ${undo.join('; ')}`,
      d,
    );
    const code = new Map([...out.matchAll(/^probe (\S+) (\d+) (\d+)$/gm)].map((m) => [`${m[1]} ${m[2]}`, Number(m[3])]));
    // The control: the same probe reaches the server's httpd, so a silence below is the host's.
    expect(code.get(`${lab.server.ip} 80`), `c1 -> the server's httpd:\n${out}`).to.equal(0);
    const hostV6 = code.size && [...code.values()].some((v) => v !== 124 && v !== 0) ? (await execCommand('ip', ['-6', 'addr', 'show', 'dev', net.bridge], { deadline: d })).stdout : '';
    for (const [a, p] of targets) expect(code.get(`${a} ${p}`), `c1 -> ${a} port ${p} (0: connected, 1: refused or unreachable, 124: no answer)\n${out}\nthe host's v6 addresses on ${net.bridge}:\n${hostV6}`).to.equal(124);
    expect([...bridgeOnly.peers, ...everywhere.peers], "connections the host's listeners took").to.deep.equal([]);
  } finally {
    await bridgeOnly.close();
    await everywhere.close();
  }
}

describe('boot to login: one thin client PXE-boots through the whole chain @smoke', function () {
  let lab: StartedLab | undefined;
  let c1: StartedThinClient;
  const core = useCoreLab(this);

  before(async function () {
    lab = await core.lab();
    c1 = await core.client('c1');
  });

  after(() => core.release());

  it('passes every stage, in order, from iPXE to the login prompt on ttyS0', async function () {
    const timeline = await c1.waitForBoot();
    // waitForBoot resolves only once every stage was seen in order, so the timeline alone
    // proves nothing; the console log on disk is a record of its own: each stage's line is
    // there, in the same order, at the time the stage was stamped.
    // The login prompt's line ends only once the shell answers (the file holds whole lines).
    await c1.check('true');
    await c1.console.synced(Deadline.after(hostBudgetMs('logSync'), 'console log written out'));
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
    // Stamped as soon as its pattern shows, mid-line maybe; the mark holds the whole line (followStages).
    expect(timeline.find((s) => s.stage === 'union')!.line).to.match(/ltsp-union: mounted ro=\/dev\/nbd0/);
  });

  it("boots the default client kind, the lab's LTSP kernel: uname -r in the guest is the ltsp kind's kernel", async function () {
    // No kind given to the lab or the client: the default (issue 20: ltsp).
    expect(c1.client, 'what c1 boots with no kind given').to.deep.equal(DEFAULT_CLIENT_SPEC);
    expect(DEFAULT_CLIENT_SPEC.kind, 'the default kind').to.equal('ltsp');
    const uname = await c1.check('uname -r');
    expect(uname, "uname -r: the kernel the image set serves to the ltsp kind").to.equal(lab!.kernelVersionFor(clientSpec({ kind: 'ltsp' })));
    expect(uname, 'not the stock kernel').to.not.equal(lab!.kernelVersionFor(clientSpec({ kind: 'stock' })));
  });

  it('runs under the accelerator the probe chose: QEMU was given it, and the guest sees it', async function () {
    const argv = c1.commandLine();
    expect(argv, 'QEMU still running').to.not.equal(null);
    const accel = argv![argv!.indexOf('-accel') + 1];
    expect(accel, `-accel of ${argv!.join(' ')}`).to.match(new RegExp(`^${lab!.speed.accel}(,|$)`));
    // The verdict's reason is the one this host calls for (harness/accel/accel-choice.ts).
    const device = inspectKvmDevice(kvmDevicePath(process.env));
    const why = lab!.speed.accelReason;
    if (process.env.LTSP_LAB_ACCEL === 'tcg') expect(why).to.equal('tcg (LTSP_LAB_ACCEL=tcg: no probe)');
    else if (device.state === 'missing') expect(why).to.equal(`no ${device.path} -> tcg`);
    else if (device.state === 'unusable') expect(why).to.equal(`${device.path} unusable (${device.why}) -> tcg`);
    else expect(why, 'a present /dev/kvm: the probe\'s word').to.match(lab!.speed.accel === 'kvm' ? /^kvm \(probe: "Run \/init" in / : /^kvm (unusable \(probe: .*\)|slower than tcg \(probe: .*\)) -> tcg( \(probed earlier this host boot\))?$/);
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

  it("cannot reach the host: listeners on the bridge's host addresses (v4, v6, link-local) and on all addresses go unanswered, through the bridge or routed via it", async function () {
    await probeHost(lab!, c1);
  });

  it("runs on iPXE's lease: lab0 (the NIC that booted) holds the leased address, and no DHCP client ran", async function () {
    const addr = await c1.check('ip -4 -o addr show dev lab0');
    expect(addr).to.include(` inet ${c1.leaseIp}`);
    const dhcp = await c1.check('ls /var/lib/dhcp/ /run/initramfs/ 2>/dev/null | grep -c lease || true');
    expect(dhcp.trim()).to.equal('0');
    const journal = await c1.check('journalctl -b --no-pager -q | grep -c -e dhclient -e DHCPDISCOVER || true');
    expect(journal.trim(), 'dhclient ran in the initramfs').to.equal('0');
  });

  it('runs none of the drivers the client leaves out (floppy, IDE, KVM, PC speaker, PS/2 mouse), and virtio_net drives lab0 as its kind has it (module or built in)', async function () {
    // A driver the kernel runs, built in or loaded, is registered on its bus (/sys/bus/*/drivers/),
    // and one with parameters (kvm's) has /sys/module/NAME either way: the same test for a
    // kernel with modules (stock: the image blacklists them) and one without (ltsp: never built).
    const out = await c1.check(
      "echo nic $(basename $(readlink /sys/class/net/lab0/device/driver)); echo running $(ls /sys/bus/*/drivers /sys/module | grep -v -e '^/' -e '^$' | sort -u); " +
        "if [ -e /proc/modules ]; then echo modules $(cut -d' ' -f1 /proc/modules); else echo modules none; fi; echo virtio_net-initstate $(cat /sys/module/virtio_net/initstate 2>/dev/null || echo none)",
    );
    const field = (k: string): string[] => (out.match(new RegExp(`^${k} ?(.*)$`, 'm'))?.[1] ?? '').split(' ').filter(Boolean);
    // i2c_piix4's driver registers as piix4_smbus.
    for (const d of ['floppy', 'ata_piix', 'kvm', 'kvm_amd', 'kvm_intel', 'pcspkr', 'psmouse', 'piix4_smbus']) {
      expect(field('running'), `driver ${d} runs:\n${out}`).to.not.include(d);
    }
    expect(field('nic'), `the driver bound to lab0:\n${out}`).to.deep.equal(['virtio_net']);
    if (c1.client.kind === 'stock') {
      expect(field('modules'), `stock: virtio_net is a loaded module:\n${out}`).to.include('virtio_net');
      expect(field('virtio_net-initstate')).to.deep.equal(['live']);
    } else {
      // ltsp-client.config: no module support; every driver the chain needs is built in.
      expect(field('modules'), `ltsp: a kernel without modules:\n${out}`).to.deep.equal(['none']);
      expect(field('virtio_net-initstate'), 'ltsp: virtio_net built in (a module would have an initstate)').to.deep.equal(['none']);
    }
  });

  it('starts the serial getty without waiting for a device, and the 10 min device timeout stays for any other', async function () {
    // Four TCG clients on two cores brought udev up after the 90 s default: dev-ttyS0.device
    // timed out, serial-getty@ttyS0 failed on the dependency and no login prompt ever came.
    // udev is masked now (trim.list), so the getty must not wait for the device at all.
    const deps = await c1.check('systemctl show --property=BindsTo,Requires,After serial-getty@ttyS0.service');
    expect(deps, 'serial-getty@ttyS0 of the client root (rootfs/etc/systemd/system/)').to.not.match(/dev-ttyS0\.device/);
    const timeout = await c1.check('systemctl show --property=DefaultDeviceTimeoutUSec');
    expect(timeout.trim(), 'system.conf.d/ltsp-lab.conf of the client root').to.equal('DefaultDeviceTimeoutUSec=10min');
    const getty = await c1.check('systemctl show --property=ActiveState,Result serial-getty@ttyS0.service | sort | tr "\\n" " "');
    expect(getty.trim()).to.equal('ActiveState=active Result=success');
  });

  it("runs the trimmed root: every unit of the image's trim.list is masked and inactive", async function () {
    // The image carries its list (vm-images/client/root/trim.list); templates (name@.service) have no state to show.
    const units = await c1.check("awk '$1 == \"unit\" && $2 !~ /@\\./ { print $2 }' /usr/local/share/ltsp-lab/trim.list | xargs systemctl show --property=Id,LoadState,ActiveState");
    const shown = units.split(/\n\s*\n/).map((block) => Object.fromEntries(block.trim().split('\n').map((l) => l.split('=', 2) as [string, string])));
    expect(shown.length, `units of trim.list:\n${units}`).to.be.greaterThan(20);
    for (const u of shown) expect(`${u.Id} ${u.LoadState} ${u.ActiveState}`).to.equal(`${u.Id} masked inactive`);
  });

  it('runs what the trim leaves without a failed unit, and the journal holds this boot', async function () {
    const failed = await c1.check('systemctl list-units --failed --no-legend --plain');
    expect(failed.trim(), 'failed units').to.equal('');
    const kernel = await c1.check('journalctl -b -k --no-pager -q | grep -c "Linux version" || true');
    expect(Number(kernel.trim()), "this boot's kernel banner in the journal").to.be.at.least(1);
  });

  it("keeps the union daemon as a root-storage daemon (argv[0] '@unionfs') after switch_root", async function () {
    const out = await c1.check("ps -eo pid=,args= | grep -v grep | grep unionfs");
    expect(out).to.match(/^\s*\d+ @unionfs .*cow/m);
  });
});

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  budgetMs,
  clientImages,
  clientScript,
  kernelArgs,
  Deadline,
  execCommand,
  hostInSubnet,
  inSubnet,
  Lab,
  LAB_HOSTS,
  NbdCommandError,
  NbdPeer,
  NbdRefusedError,
  stepDeadline,
  servedBootPaths,
  VM_IMAGES_DIR,
  type ClientKind,
  type StartedLab,
  hostBudgetMs,
} from '../harness/index';
import { suiteReportDir } from './support/report-dir';

/*
 * The LTSP server image on its own: the lab network and the server container, no
 * QEMU. Everything is aimed at the lab's own addresses (the server, and the host's
 * addresses on the lab bridges); nothing leaves the host.
 */

function sha256File(path: string, deadline: Deadline): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 4 << 20 });
  const done = new Promise<string>((resolve, reject) => {
    stream.on('data', (c) => hash.update(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('hex')));
  });
  return deadline.race(done).finally(() => stream.destroy());
}

async function dockerJson<T>(args: string[], deadline: Deadline): Promise<T> {
  return JSON.parse((await execCommand('docker', args, { deadline })).stdout) as T;
}

/** A /24 in 10.214.0.0/16 that no docker network and no host route uses: outside any lab subnet (10.213/16). */
async function freeOutsideSubnet(deadline: Deadline): Promise<string> {
  const used = new Set<string>();
  const ids = (await execCommand('docker', ['network', 'ls', '-q'], { deadline })).stdout.split(/\s+/).filter(Boolean);
  const subnets = await execCommand('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids], { deadline, allowFailure: true });
  for (const s of subnets.stdout.split(/\s+/)) used.add(s);
  for (const r of (await execCommand('ip', ['-4', 'route', 'show'], { deadline })).stdout.split('\n')) used.add(r.split(' ')[0] ?? '');
  for (let n = 1; n < 255; n++) {
    if (!used.has(`10.214.${n}.0/24`)) return `10.214.${n}.0/24`;
  }
  throw new Error('no free /24 in 10.214.0.0/16 for the outside network');
}

interface InitScriptRun {
  action: string;
  exitCode: number;
  output: string;
}

describe('server stack: the LTSP server image on the lab network, without QEMU @full', function () {
  let lab: StartedLab | undefined;
  /** The second network of the allow-list test, removed in its finally and again here. */
  let outsideNetwork: string | undefined;

  before(async function () {
    lab = await new Lab()
      .withReportDir(suiteReportDir(this.test!.parent!))
      .start({ deadline: stepDeadline(budgetMs('labStart'), 'lab start for the server-stack suite (image build included)') });
  });

  after(async function () {
    if (outsideNetwork) await removeOutsideNetwork(outsideNetwork);
    await lab?.stop();
  });

  async function removeOutsideNetwork(name: string): Promise<void> {
    const d = Deadline.after(hostBudgetMs('hostCommand'), `remove network ${name}`);
    if (lab) await execCommand('docker', ['network', 'disconnect', '--force', name, lab.server.getId()], { deadline: d, allowFailure: true });
    const rm = await execCommand('docker', ['network', 'rm', name], { deadline: d, allowFailure: true });
    if (rm.code === 0 || /not found/i.test(rm.stderr)) outsideNetwork = undefined;
  }

  function L(): StartedLab {
    if (!lab) throw new Error('the lab did not start');
    return lab;
  }

  async function serverRunning(d: Deadline): Promise<boolean> {
    const r = await execCommand('docker', ['inspect', '-f', '{{.State.Running}}', L().server.getId()], { deadline: d, allowFailure: true });
    return r.stdout.trim() === 'true';
  }

  it('the container starts, TFTP serves boot.ipxe and nbd-server lists the export "root"', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    expect(lab.server.logTail(400).join('\n'), 'the server never said it was ready').to.match(/ltsp-server: ready .*nbd=.*export=root/);

    // The host holds the gateway address on the lab bridge, inside the lab subnet.
    const tftp = await execCommand('curl', ['-s', '--max-time', '10', `tftp://${lab.server.ip}/boot.ipxe`], { deadline: d, allowFailure: true });
    expect(tftp.code, `curl tftp://${lab.server.ip}/boot.ipxe exited ${tftp.code}: ${tftp.stderr}`).to.equal(0);
    const script = readFileSync(join(VM_IMAGES_DIR, 'server/rootfs/srv/tftp/boot.ipxe'), 'utf8');
    expect(tftp.stdout, 'TFTP served something other than vm-images/server/rootfs/srv/tftp/boot.ipxe').to.equal(script);
    // The fallback for a MAC with no script of its own: the harness's kernel command line, not a copy in the image.
    const fallback = await execCommand('curl', ['-s', '--max-time', '10', `tftp://${lab.server.ip}/clients/default.ipxe`], { deadline: d, allowFailure: true });
    expect(fallback.code, `curl tftp://${lab.server.ip}/clients/default.ipxe exited ${fallback.code}`).to.equal(0);
    expect(fallback.stdout).to.equal(clientScript('default', kernelArgs({ exportName: 'root', union: lab.defaultClient.union }), lab.defaultClient));
    expect(script).to.contain('|| chain --autofree tftp://${next-server}/clients/default.ipxe');

    const peer = await NbdPeer.connect(lab.server.ip, { deadline: d });
    try {
      expect(await peer.listExports(d), 'NBD_OPT_LIST on the lab server').to.deep.equal(['root']);
    } finally {
      await peer.close();
    }
  });

  it('httpd serves the kernel and initramfs byte for byte, and refuses anything but reading them', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    // The TFTP root's files (the default kind's), and each kind's own, where its clients' scripts fetch them.
    const kinds = Object.entries(lab.served.clients).flatMap(([kind, f]) => {
      const at = servedBootPaths(kind as ClientKind);
      return [[at.kernel, f.kernel], [at.initrd, f.initrd]] as const;
    });
    expect(kinds.length, 'the lab serves no client kind').to.be.greaterThan(0);
    for (const [name, file] of [['vmlinuz', lab.served.kernel], ['initrd.img', lab.served.initrd], ...kinds] as const) {
      const got = await execCommand('sh', ['-c', `curl -sS --fail --max-time 20 http://${lab.server.ip}/${name} | sha256sum`], { deadline: d });
      const want = await execCommand('sha256sum', [file], { deadline: d });
      expect(got.stdout.split(' ')[0], `http://${lab.server.ip}/${name} vs ${file}`).to.equal(want.stdout.split(' ')[0]);
    }
    const missing = await execCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `http://${lab.server.ip}/no-such-file`], { deadline: d, allowFailure: true });
    expect(missing.stdout, 'a missing file').to.equal('404');
    const put = await execCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '-X', 'PUT', '--data', 'x', `http://${lab.server.ip}/vmlinuz`], { deadline: d, allowFailure: true });
    expect(put.stdout, 'a PUT to the kernel').to.match(/^(400|403|405|501)$/);
    const file = await execCommand('sha256sum', [lab.served.kernel], { deadline: d });
    const served = await execCommand('sh', ['-c', `curl -sS --fail --max-time 20 http://${lab.server.ip}/vmlinuz | sha256sum`], { deadline: d });
    expect(served.stdout.split(' ')[0], 'the kernel after the PUT').to.equal(file.stdout.split(' ')[0]);
  });

  it('a real NBD peer sees export "root" read-only, with exactly the size of the root image (NbdPeer and nbdinfo agree)', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    expect(lab.served.rootImage, 'the lab serves another root image than the build made').to.equal(lab.manifest.rootImage);
    const size = BigInt(statSync(lab.manifest.rootImage).size);

    const peer = await NbdPeer.connect(lab.server.ip, { deadline: d });
    try {
      const info = await peer.open('root', d);
      expect(info.size, `export size vs ${lab.manifest.rootImage}`).to.equal(size);
      expect(info.readOnly, `NBD_FLAG_READ_ONLY is not set (flags 0x${info.flags.toString(16)})`).to.equal(true);
    } finally {
      await peer.close();
    }

    const uri = `nbd://${lab.server.ip}/root`;
    const nbdSize = await execCommand('nbdinfo', ['--size', uri], { deadline: d, allowFailure: true });
    expect(nbdSize.code, `nbdinfo --size ${uri}: ${nbdSize.stderr}`).to.equal(0);
    expect(nbdSize.stdout.trim(), 'nbdinfo --size').to.equal(size.toString());
    // nbdinfo --is/--can: exit 0 for true, 2 for false (nbdinfo(1)).
    const ro = await execCommand('nbdinfo', ['--is', 'read-only', uri], { deadline: d, allowFailure: true });
    expect(ro.code, `nbdinfo --is read-only ${uri} (0 = read-only, 2 = writable): ${ro.stderr}`).to.equal(0);
    const canWrite = await execCommand('nbdinfo', ['--can', 'write', uri], { deadline: d, allowFailure: true });
    expect(canWrite.code, `nbdinfo --can write ${uri} (2 = cannot): ${canWrite.stderr}`).to.equal(2);
  });

  it('pinned, upstream: nbd-server answers NBD_OPT_INFO with export size 0 (nbdinfo --list), NBD_OPT_GO with the real size', async function () {
    // nbd-server 3.24's handle_info() sends client->exportsize, which only commit_client()
    // sets, and only for NBD_OPT_GO; upstream's is the same (checked against its May 2026
    // head). Not our configuration: no nbd-server(5) option reaches that path. A peer that
    // lists exports sees "export-size: 0"; a client that connects (GO) gets the size, as
    // the test above checks. An nbd-server that fixes it turns this red: then expect the size.
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    const list = await execCommand('nbdinfo', ['--list', '--json', `nbd://${lab.server.ip}`], { deadline: d, allowFailure: true });
    expect(list.code, `nbdinfo --list: ${list.stderr}`).to.equal(0);
    const exports = (JSON.parse(list.stdout) as { exports: { 'export-name': string; 'export-size': number; 'is_read_only'?: boolean }[] }).exports;
    const root = exports.find((e) => e['export-name'] === 'root');
    expect(root, list.stdout).to.not.equal(undefined);
    expect(root!['export-size'], 'NBD_OPT_INFO export size').to.equal(0);
    expect(root!.is_read_only, 'NBD_OPT_INFO still carries the read-only flag').to.equal(true);
  });

  it('a write through the export is refused with EPERM, and the image keeps its sha256', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    const before = await sha256File(lab.manifest.rootImage, d);
    expect(before, `${lab.manifest.rootImage} did not match the manifest before the write: the check below would prove nothing`).to.equal(lab.manifest.rootSha256);

    // ext4 leaves its first 1024 bytes unused (the boot block), so the probe is harmless
    // to the filesystem even if a write got through; the hash would still show it.
    const peer = await NbdPeer.connect(lab.server.ip, { deadline: d });
    let original: Buffer;
    try {
      await peer.open('root', d);
      original = await peer.read(0n, 512, d);
      const probe = Buffer.from(original.map((b) => b ^ 0xff));
      const err = await peer.write(0n, probe, d).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'NBD_CMD_WRITE to the read-only export succeeded').to.be.instanceOf(NbdCommandError);
      expect((err as NbdCommandError).errnoName, (err as Error).message).to.equal('EPERM');
    } finally {
      await peer.close();
    }

    const again = await NbdPeer.connect(lab.server.ip, { deadline: d });
    try {
      await again.open('root', d);
      expect((await again.read(0n, 512, d)).equals(original), 'the first 512 bytes read back differently after the refused write').to.equal(true);
    } finally {
      await again.close();
    }
    expect(await sha256File(lab.manifest.rootImage, d), `${lab.manifest.rootImage} changed`).to.equal(lab.manifest.rootSha256);
  });

  it('an address outside the allow list is refused at NBD_OPT_GO, while the lab subnet is let in', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    const subnet = await freeOutsideSubnet(d);
    const gateway = hostInSubnet(subnet, LAB_HOSTS.gateway);
    const name = `ltsp-lab-${lab.run.id}-outside`;
    await execCommand('docker', [
      'network', 'create', '--driver', 'bridge', '--internal', '--subnet', subnet, '--gateway', gateway,
      '-o', `com.docker.network.bridge.name=ltx${lab.run.id}`,
      ...Object.entries(lab.run.labels({ 'ltsp-lab.role': 'outside' })).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      name,
    ], { deadline: d });
    outsideNetwork = name;
    try {
      await execCommand('docker', ['network', 'connect', name, lab.server.getId()], { deadline: d });
      const nets = await dockerJson<Record<string, { IPAddress: string }>>(['inspect', '-f', '{{json .NetworkSettings.Networks}}', lab.server.getId()], d);
      const outsideIp = nets[name]?.IPAddress;
      expect(outsideIp, `the server has no address on ${name}: ${JSON.stringify(nets)}`).to.be.a('string').and.not.equal('');
      // The host talks to the server's second address from its own address on that bridge.
      const hostAddrs = await execCommand('ip', ['-4', '-o', 'addr', 'show', 'dev', `ltx${lab.run.id}`], { deadline: d });
      expect(hostAddrs.stdout, `the host has no address ${gateway} on the outside bridge, so the premise fails`).to.include(`${gateway}/24`);
      expect(inSubnet(lab.network.subnet, gateway), `${gateway} is inside the lab subnet ${lab.network.subnet}`).to.equal(false);

      // A fresh connection per attempt: the allow list is checked when an export is opened.
      const outside = await NbdPeer.connect(outsideIp as string, { deadline: d });
      let refusal: unknown;
      try {
        refusal = await outside.open('root', d).then(
          (info) => new Error(`export root opened from ${gateway} (size ${info.size})`),
          (e: unknown) => e,
        );
      } finally {
        await outside.close();
      }
      expect(refusal, `from ${gateway}: ${(refusal as Error).message}`).to.be.instanceOf(NbdRefusedError);
      expect((refusal as NbdRefusedError).during, (refusal as Error).message).to.equal('NBD_OPT_GO');
      expect((refusal as NbdRefusedError).reason, (refusal as Error).message).to.equal('NBD_REP_ERR_POLICY');

      const inside = await NbdPeer.connect(lab.server.ip, { deadline: d });
      try {
        const info = await inside.open('root', d);
        expect(info.size > 0n, `export root from ${lab.network.gateway} (lab subnet)`).to.equal(true);
      } finally {
        await inside.close();
      }
    } finally {
      await removeOutsideNetwork(name);
    }
    expect(outsideNetwork, `network ${name} could not be removed`).to.equal(undefined);
  });

  it('the sysvinit script gives LSB exit codes: status, stop, start twice, reload, restart, an unknown action', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    const log: InitScriptRun[] = [];
    const run = async (action: string): Promise<InitScriptRun> => {
      const r = await lab.server.sh(`/etc/init.d/nbd-server ${action}`, true);
      const entry = { action, exitCode: r.exitCode, output: r.output.trim() };
      log.push(entry);
      return entry;
    };
    const pid = async (): Promise<string> => (await lab.server.sh('cat /var/run/nbd-server.pid')).output.trim();
    const expectCode = async (action: string, code: number, why: string): Promise<InitScriptRun> => {
      const r = await run(action);
      expect(r.exitCode, `'${action}' should ${why}; said: ${r.output}\n--- so far ---\n${log.map((l) => `${l.action} -> ${l.exitCode}: ${l.output}`).join('\n')}`).to.equal(code);
      return r;
    };

    try {
      await expectCode('status', 0, 'exit 0 while nbd-server runs');
      const firstPid = await pid();
      expect(firstPid, 'the pidfile of the running nbd-server').to.match(/^\d+$/);
      await expectCode('stop', 0, 'exit 0');
      await expectCode('status', 3, 'exit 3 (program is not running) once stopped');
      // The entrypoint checks nbd-server every second. Staying stopped for a few of its
      // periods makes the outcome certain: an operator's stop is not a crash, and must
      // not take the lab server down with it.
      await d.sleep(3500);
      expect(await serverRunning(d), `the server container exited while nbd-server was stopped:\n${lab.server.logTail(5).join('\n')}`).to.equal(true);
      await expectCode('stop', 0, 'exit 0 when already stopped (LSB: stopping a stopped service succeeds)');
      await expectCode('reload', 7, 'exit 7 (program is not running) while stopped');
      await expectCode('start', 0, 'exit 0');
      await expectCode('status', 0, 'exit 0 after start');
      expect(await pid(), 'start after stop left the old process in the pidfile').to.not.equal(firstPid);
      const second = await expectCode('start', 0, 'exit 0 when already running (LSB: starting a started service succeeds)');
      expect(second.output, 'a second start should say it is already running').to.match(/already running/);
      await expectCode('no-such-action', 2, 'exit 2 (invalid or excess arguments)');

      const beforeRestart = await pid();
      expect(beforeRestart, 'start wrote no pid').to.match(/^\d+$/);
      await expectCode('restart', 0, 'exit 0');
      const afterRestart = await pid();
      expect(afterRestart, 'restart kept the old nbd-server process').to.not.equal(beforeRestart);
      await expectCode('status', 0, 'exit 0 after restart');

      await expectCode('reload', 0, 'exit 0 while running');
      expect(await pid(), 'reload (HUP) replaced the nbd-server process').to.equal(afterRestart);
      await expectCode('status', 0, 'exit 0 after reload');

      // After all that, the export still answers and the container is still the lab's server.
      const peer = await NbdPeer.connect(lab.server.ip, { deadline: d });
      try {
        expect((await peer.open('root', d)).readOnly, 'export root after restart and reload').to.equal(true);
      } finally {
        await peer.close();
      }
      expect(await serverRunning(d), `the server container exited during the test:\n${lab.server.logTail(20).join('\n')}`).to.equal(true);
    } finally {
      // Leave nbd-server running for the tests after this one.
      if (await serverRunning(d)) await lab.server.sh('/etc/init.d/nbd-server start', true);
    }
  });

  it('systemd-analyze verify accepts nbd-server.service', async function () {
    const r = await L().server.sh('systemd-analyze verify /etc/systemd/system/nbd-server.service 2>&1', true);
    expect(r.exitCode, `systemd-analyze verify exited ${r.exitCode}:\n${r.output}`).to.equal(0);
    const aboutUnit = r.output.split('\n').filter((l) => l.includes('nbd-server.service'));
    expect(aboutUnit, 'systemd-analyze verify warned about the unit').to.deep.equal([]);
  });

  it("lsinitrd lists what the stock client's boot needs: nbd.ko, fuse.ko, overlay.ko, unionfs, nbd-client, our pre-pivot hook and module", async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    // The stock kind's: the one with kernel modules (the ltsp kernel has them built in, and build-initramfs.sh checks its listing).
    const initrd = clientImages(lab.manifest, 'stock').initrd;
    const r = await execCommand('docker', [
      'run', '--rm', '--network', 'none', '--name', `ltsp-lab-${lab.run.id}-lsinitrd`,
      ...Object.entries(lab.run.labels({ 'ltsp-lab.role': 'lsinitrd' })).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      '-v', `${initrd}:/i.img:ro`, lab.manifest.rootImageTag, 'lsinitrd', '/i.img',
    ], { deadline: d, allowFailure: true });
    expect(r.code, `lsinitrd ${initrd} exited ${r.code}: ${r.stderr}`).to.equal(0);
    const files = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '');
    const want: Array<[string, RegExp]> = [
      ['the nbd module', /^usr\/lib\/modules\/[^/]+\/kernel\/drivers\/block\/nbd\.ko(\.xz|\.zst)?$/],
      ['the fuse module', /^usr\/lib\/modules\/[^/]+\/kernel\/fs\/fuse\/fuse\.ko(\.xz|\.zst)?$/],
      ['the overlay module (--union overlayfs)', /^usr\/lib\/modules\/[^/]+\/kernel\/fs\/overlayfs\/overlay\.ko(\.xz|\.zst)?$/],
      ['unionfs-fuse', /^usr\/bin\/unionfs$/],
      ['the union method reader', /^usr\/lib\/ltsp-union-method\.sh$/],
      ['nbd-client', /^usr\/s?bin\/nbd-client$/],
      ['our pre-pivot hook', /^usr\/lib\/dracut\/hooks\/pre-pivot\/\d+-ltsp-union\.sh$/],
    ];
    for (const [what, re] of want) {
      expect(files.some((f) => re.test(f)), `${what} (${re}) is not in the initramfs ${initrd}`).to.equal(true);
    }
    // lsinitrd's header lists the dracut modules the image was built with.
    const modules = /^dracut modules:\n([\s\S]*?)\n=+$/m.exec(r.stdout)?.[1]?.split('\n').map((l) => l.trim()) ?? [];
    expect(modules, 'the dracut modules the initramfs was built with').to.include.members(['ltsp-union', 'nbd']);
  });

  it('the lab stays shut in: an internal network, no published port, not privileged, only NET_ADMIN and NET_RAW added', async function () {
    const lab = L();
    const d = stepDeadline(hostBudgetMs('serverCheck'), this.test!.title);
    const [net] = await dockerJson<Array<{ Internal: boolean; Labels: Record<string, string> }>>(['network', 'inspect', lab.network.name], d);
    expect(net?.Internal, `docker network ${lab.network.name} is not --internal`).to.equal(true);

    interface Inspect {
      HostConfig: { PortBindings: Record<string, unknown> | null; Privileged: boolean; CapAdd: string[] | null; PublishAllPorts: boolean; NetworkMode: string };
      NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null; Networks: Record<string, unknown> };
    }
    const [c] = await dockerJson<Inspect[]>(['inspect', lab.server.getId()], d);
    if (!c) throw new Error(`docker inspect ${lab.server.getId()} returned nothing`);
    expect(c.HostConfig.PortBindings ?? {}, 'HostConfig.PortBindings').to.deep.equal({});
    expect(c.HostConfig.PublishAllPorts, 'HostConfig.PublishAllPorts').to.equal(false);
    const bound = Object.entries(c.NetworkSettings.Ports ?? {}).filter(([, b]) => b && b.length > 0);
    expect(bound, 'ports bound on the host (NetworkSettings.Ports)').to.deep.equal([]);
    expect(c.HostConfig.Privileged, 'HostConfig.Privileged').to.equal(false);
    const caps = (c.HostConfig.CapAdd ?? []).map((x) => x.replace(/^CAP_/, '')).sort();
    expect(caps, 'HostConfig.CapAdd').to.deep.equal(['NET_ADMIN', 'NET_RAW']);
    expect(Object.keys(c.NetworkSettings.Networks), 'the networks the server is on').to.deep.equal([lab.network.name]);
  });
});

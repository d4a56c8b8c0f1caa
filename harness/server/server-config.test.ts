import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * What ltsp-init renders before any init runs (ltsp-server-config), and the daemon command
 * line every init runs (ltsp-server-daemon), against a folder standing for / and an `ip`
 * that reports a lab address: the harness's environment must be what the services read.
 */
const SBIN = join(repoRoot(), 'vm-images/server/rootfs/usr/local/sbin');

describe('server config: ltsp-server-config renders the container environment once, for every init', function () {
  this.timeout(20_000);
  let fs = '';
  let bin = '';

  beforeEach(() => {
    fs = mkdtempSync(join(tmpdir(), 'ltsp-lab-config-'));
    bin = join(fs, 'shim-bin');
    for (const d of ['srv/ltsp', 'srv/tftp', 'etc/nbd-server', 'run', 'shim-bin']) mkdirSync(join(fs, d), { recursive: true });
    // An ext4 superblock magic (0xEF53, little endian) at byte 1080 is all the check reads.
    const img = Buffer.alloc(2048);
    img.writeUInt16LE(0xef53, 1080);
    writeFileSync(join(fs, 'srv/ltsp/root.ext4'), img);
    writeFileSync(join(fs, 'srv/tftp/vmlinuz'), 'k');
    writeFileSync(join(fs, 'srv/tftp/initrd.img'), 'i');
    // ip -o -4 addr show dev eth0, as iproute2 prints it; no IPv6.
    writeFileSync(join(bin, 'ip'), '#!/bin/sh\ncase "$*" in *-4*) echo "2: eth0    inet 10.213.1.2/24 brd 10.213.1.255 scope global eth0";; esac\n', { mode: 0o755 });
    // dnsmasq prints its arguments instead of serving.
    writeFileSync(join(bin, 'dnsmasq'), '#!/bin/sh\necho "dnsmasq $*"\n', { mode: 0o755 });
  });

  afterEach(() => rmSync(fs, { recursive: true, force: true }));

  function run(script: string, args: string[], env: Record<string, string>): { code: number; out: string } {
    const r = spawnSync('bash', [join(SBIN, script), ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin`, LTSP_SERVER_FS: fs, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
  }
  const read = (p: string): string => readFileSync(join(fs, p), 'utf8');

  it('writes the DHCP range it is given, the subnet of the lab interface, and lab.env for the units', () => {
    const r = run('ltsp-server-config', [], { LAB_DHCP_RANGE: '10.213.1.100,10.213.1.199' });
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.equal('ltsp-server: lab interface eth0 10.213.1.2/24, subnet 10.213.1.0/24, DHCP 10.213.1.100,10.213.1.199, lease infinite');
    expect(read('etc/dnsmasq-lab.conf')).to.match(/^dhcp-range=10\.213\.1\.100,10\.213\.1\.199,255\.255\.255\.0,infinite$/m).and.to.match(/^interface=eth0$/m);
    // TFTP is ltsp-server-daemon's to add, so that ltsp-server-ctl can take it away.
    expect(read('etc/dnsmasq-lab.conf')).to.not.match(/tftp/);
    expect(read('etc/nbd-server/allow').split('\n')[1]).to.equal('10.213.1.0/24');
    expect(read('run/ltsp-server/lab.env').trim().split('\n')).to.deep.equal([
      'LAB_IFACE=eth0',
      'LAB_ADDR=10.213.1.2',
      'LAB_SUBNET=10.213.1.0/24',
      'LAB_DHCP_RANGE=10.213.1.100,10.213.1.199',
      'LAB_LEASE=infinite',
      'LAB_TFTP_ROOT=/srv/tftp',
    ]);
  });

  it('has no DHCP range of its own: without LAB_DHCP_RANGE it stops and says who sets it', () => {
    const r = run('ltsp-server-config', [], {});
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/FATAL: LAB_DHCP_RANGE is not set: .*the harness sets it from LAB_HOSTS/);
  });

  it('refuses a root image that is not ext4', () => {
    writeFileSync(join(fs, 'srv/ltsp/root.ext4'), Buffer.alloc(2048));
    const r = run('ltsp-server-config', [], { LAB_DHCP_RANGE: '10.213.1.100,10.213.1.199' });
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/root\.ext4 is not an ext4 filesystem image/);
  });

  it('ltsp-server-daemon: dnsmasq with the rendered config and TFTP, without TFTP once ltsp-server-ctl stopped it', () => {
    expect(run('ltsp-server-config', [], { LAB_DHCP_RANGE: '10.213.1.100,10.213.1.199' }).code).to.equal(0);
    const conf = join(fs, 'etc/dnsmasq-lab.conf');
    expect(run('ltsp-server-daemon', ['dnsmasq'], {}).out).to.equal(`dnsmasq --keep-in-foreground --log-facility=- --conf-file=${conf} --enable-tftp --tftp-root=/srv/tftp`);
    writeFileSync(join(fs, 'run/ltsp-server/want/tftp'), 'stopped\n');
    expect(run('ltsp-server-daemon', ['dnsmasq'], {}).out).to.equal(`dnsmasq --keep-in-foreground --log-facility=- --conf-file=${conf}`);
  });

  it('ltsp-server-daemon: without lab.env it names what runs first', () => {
    const r = run('ltsp-server-daemon', ['httpd'], {});
    expect(r.code).to.equal(6);
    expect(r.out).to.match(/lab\.env is missing: ltsp-server-config runs first/);
  });
});

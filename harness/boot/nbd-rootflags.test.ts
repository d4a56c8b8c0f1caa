import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * The dracut module's netroot hook, run on the host by sh as dracut's netroot sources it:
 * with netroot, root, rflags and hookdir set and dracut-lib's warn and info stubbed. What
 * it writes is then sourced as the shell init's mount loop does, before mount-root reads
 * fstype and rflags.
 */
describe('ltsp-nbd-rootflags.sh (root=nbd\'s fstype and mount options reach the shell init\'s mount)', () => {
  const SCRIPT = join(repoRoot(), 'vm-images/client/dracut/90ltsp-union/ltsp-nbd-rootflags.sh');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-rootflags-'));
    mkdirSync(join(dir, 'mount'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  interface Given {
    netroot: string;
    root?: string;
    /** What rootflags=, ro and rw on the command line made of rflags (10-parse-root-opts). */
    rflags?: string;
    systemd?: boolean;
  }

  /** fstype and rflags as mount-root sees them, and whether a mount hook was written. */
  function mountSees(g: Given): { hook: boolean; fstype: string; rflags: string; out: string } {
    const hook = join(dir, 'mount', '50-ltsp-nbd-rootflags.sh');
    const env = {
      PATH: process.env.PATH,
      netroot: g.netroot,
      root: g.root ?? 'block:/dev/root',
      rflags: g.rflags ?? '',
      fstype: 'auto',
      hookdir: dir,
      DRACUT_SYSTEMD: g.systemd ? '1' : '',
    };
    const stubs = 'warn() { echo "WARN $*"; }; info() { echo "INFO $*"; }';
    const r = spawnSync('sh', ['-c', `${stubs}\n. "${SCRIPT}"\n[ -f "${hook}" ] && . "${hook}"\necho "SEEN fstype=$fstype rflags=$rflags"`], { encoding: 'utf8', env });
    expect(r.status, r.stderr).to.equal(0);
    const seen = /^SEEN fstype=(.*) rflags=(.*)$/m.exec(r.stdout);
    expect(seen, r.stdout).to.not.equal(null);
    return { hook: existsSync(hook), fstype: seen![1]!, rflags: seen![2]!, out: r.stdout + (existsSync(hook) ? readFileSync(hook, 'utf8') : '') };
  }

  const forms: [string, Given, { fstype: string; rflags: string }][] = [
    ['options and no fstype', { netroot: 'nbd:10.13.0.2:root::errors=panic' }, { fstype: 'auto', rflags: 'errors=panic' }],
    ['fstype, options and nbd-client options', { netroot: 'nbd:10.13.0.2:root:ext4:ro,noatime:--block-size=4096' }, { fstype: 'ext4', rflags: 'ro,noatime' }],
    ['a DHCP root-path (root=dhcp)', { netroot: 'nbd:10.13.0.2:root:ext4:ro,nodiratime', root: 'dhcp' }, { fstype: 'ext4', rflags: 'ro,nodiratime' }],
    ['an IPv6 server in brackets', { netroot: 'nbd:[fd00::2]:root:ext4:noatime' }, { fstype: 'ext4', rflags: 'noatime' }],
    ['the command line\'s rootflags= and ro after the options, so they win', { netroot: 'nbd:10.13.0.2:root:ext4:noatime', rflags: 'atime,ro' }, { fstype: 'ext4', rflags: 'noatime,atime,ro' }],
    ['a numeric port and an fstype alone', { netroot: 'nbd:10.13.0.2:10809:ext4' }, { fstype: 'ext4', rflags: '' }],
  ];
  for (const [what, given, want] of forms) {
    it(`${what}: ${given.netroot}`, () => {
      const seen = mountSees(given);
      expect(seen.hook, seen.out).to.equal(true);
      expect({ fstype: seen.fstype, rflags: seen.rflags }, seen.out).to.deep.equal(want);
    });
  }

  const untouched: [string, Given][] = [
    ['no fstype and no options', { netroot: 'nbd:10.13.0.2:root' }],
    ['a systemd initramfs (nbdroot hands them to sysroot.mount itself)', { netroot: 'nbd:10.13.0.2:root:ext4:noatime', systemd: true }],
    ['a root= of its own (netroot=nbd:... root=LABEL=...): rootflags= is for it', { netroot: 'nbd:10.13.0.2:root:ext4:noatime', root: 'block:/dev/disk/by-label/ltsp-root' }],
    ['another netroot', { netroot: 'nfs:10.13.0.2:/srv/root:noatime' }],
  ];
  for (const [what, given] of untouched) {
    it(`leaves the mount alone for ${what}`, () => {
      const seen = mountSees({ ...given, rflags: 'ro' });
      expect(seen.hook, seen.out).to.equal(false);
      expect({ fstype: seen.fstype, rflags: seen.rflags }).to.deep.equal({ fstype: 'auto', rflags: 'ro' });
    });
  }

  it('uses nothing of a spec with a quote in it, and says so', () => {
    const seen = mountSees({ netroot: "nbd:10.13.0.2:root:ext4:noatime'x" });
    expect(seen.hook).to.equal(false);
    expect(seen.out).to.match(/WARN ltsp-nbd-rootflags: a quote in/);
  });
});

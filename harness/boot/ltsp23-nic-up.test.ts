import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * The ltsp23 lane's init-premount script lab-nic-up (vm-images/ltsp23/DEVIATIONS.md): it
 * raises the boot NIC and waits, bounded, until it is up, so klibc's ipconfig's first
 * DHCPDISCOVER is not lost. Run by dash on a fake sysfs, `ip` and `sleep` stubbed: the
 * stub `ip` brings the link up after a few polls, or never.
 */
describe('lab-nic-up (the ltsp23 lane\'s initramfs waits for the boot NIC to be up)', () => {
  const SCRIPT = join(repoRoot(), 'vm-images/ltsp23/client/rootfs/etc/initramfs-tools/scripts/init-premount/lab-nic-up');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-nic-up-'));
    for (const [nic, mac, type] of [['ens2', '52:54:00:4c:6e:01', '1'], ['ens3', '52:54:00:4c:6e:09', '1'], ['lo', '00:00:00:00:00:00', '772']] as const) {
      mkdirSync(join(dir, 'class/net', nic), { recursive: true });
      writeFileSync(join(dir, 'class/net', nic, 'address'), `${mac}\n`);
      writeFileSync(join(dir, 'class/net', nic, 'type'), `${type}\n`);
      writeFileSync(join(dir, 'class/net', nic, 'operstate'), 'down\n');
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the script; `upAfter` polls after `ip link set up` the NIC's operstate turns up (undefined: never). */
  function run(cmdline: string, upAfter: number | undefined): { code: number; out: string } {
    writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
    const stubs = [
      `ip() { echo "IP $*"; UP=$4; POLLS=0; }`,
      `sleep() { POLLS=$((POLLS + 1)); ${upAfter === undefined ? ':' : `[ "$POLLS" -ge ${upAfter} ] && echo up > "${dir}/class/net/$UP/operstate"`}; return 0; }`,
    ].join('\n');
    const script = readFileSync(SCRIPT, 'utf8').replace(/>\/dev\/kmsg 2>\/dev\/null \|\| echo "lab-nic-up: \$\*" >\/dev\/console/, '');
    expect(script, 'the stub took').to.not.include('/dev/kmsg');
    const r = spawnSync('dash', ['-c', `${stubs}\n${script}`], { encoding: 'utf8', env: { ...process.env, LAB_SYS: dir, LAB_CMDLINE: join(dir, 'cmdline'), LAB_NIC_WAIT_S: '2' } });
    return { code: r.status ?? -1, out: r.stdout + r.stderr };
  }

  it('raises only the NIC BOOTIF names, and goes on once it is up', () => {
    const r = run('root=/dev/nbd0 nbdroot=10.0.0.2,x86_64,nbd0 BOOTIF=01-52-54-00-4C-6E-01 console=ttyS0', 5);
    expect(r).to.deep.equal({ code: 0, out: 'IP link set dev ens2 up\n<5>lab-nic-up: ens2: up after 0.5 s\n' });
  });

  it('without BOOTIF: every ethernet NIC (not lo)', () => {
    const r = run('root=/dev/nbd0', 1);
    expect(r.out.split('\n').filter((l) => l.startsWith('IP '))).to.deep.equal(['IP link set dev ens2 up', 'IP link set dev ens3 up']);
  });

  it('bounded: not up in LAB_NIC_WAIT_S, it says so and lets ipconfig go on (exit 0)', () => {
    const r = run('BOOTIF=01-52-54-00-4c-6e-01', undefined);
    expect(r).to.deep.equal({ code: 0, out: 'IP link set dev ens2 up\n<5>lab-nic-up: ens2: not up after 2 s; ipconfig goes on\n' });
  });

  it('answers initramfs-tools\' prereqs call with no prerequisites and does nothing else', () => {
    const r = spawnSync('dash', [SCRIPT, 'prereqs'], { encoding: 'utf8' });
    expect(r.stdout).to.equal('\n');
    expect(r.status).to.equal(0);
  });
});

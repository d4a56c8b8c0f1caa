import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { RESCUE_RETRY_S } from './rescue-shell';
import { clientScript, kernelArgs, ltsp23KernelArgs, rootFromDhcp, validateAppend, validateRootArg, validateRootPath } from './kernel-args';
import { FIXTURES_DIR } from '../common/paths';
import { CLIENT_KINDS, clientSpec } from '../client/client-spec';
import { servedMounts } from '../server/boot-files';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(UsageError);
    return e as UsageError;
  }
  return expect.fail('expected a UsageError');
}

const IP = 'ip=${net0/ip}:::${net0/netmask}::lab0:none ifname=lab0:${net0/mac}';
const BASE = `root=nbd:\${next-server}:root:ext4:ro rd.neednet=1 ${IP} console=ttyS0,115200`;

describe('validateAppend', () => {
  const bad: [string, string, RegExp][] = [
    ['a newline', 'rd.debug\nrd.break', /newline or control character/],
    ['a carriage return', 'rd.debug\rquiet', /newline or control character/],
    ['a tab', 'rd.debug\tquiet', /newline or control character/],
    ['an escape', 'quiet \x1b[2J', /newline or control character/],
    ['DEL', 'quiet\x7f', /newline or control character/],
    ['NUL', 'quiet\x00', /newline or control character/],
    ['non-ASCII', 'rd.lang=Grüße', /non-ASCII/],
    ['a C1 control', 'quiet\u009b', /non-ASCII/],
    ["iPXE's ${ expansion", 'root=${root-path}', /'\$\{', which iPXE would expand/],
    ['an unbalanced quote', 'init="/bin/sh -c', /unbalanced double quote/],
    ['three quotes', 'a="b" c="d', /unbalanced double quote/],
    ['a value without a name', 'rd.debug =7', /argument without a name: '=7'/],
    ['a quoted value without a name', '="x y"', /argument without a name: '="x y"'/],
    ['over-long', `x=${'y'.repeat(1023)}`, /--append is 1025 characters; the limit is 1024/],
  ];
  for (const [what, input, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(usageError(() => validateAppend(input)).message).to.match(message);
    });
  }

  it('tells how to give arguments on one line', () => {
    expect(usageError(() => validateAppend('a\nb')).hint).to.include('--append "rd.debug loglevel=7"');
  });

  it('passes good arguments through, trimmed', () => {
    expect(validateAppend('  rd.debug loglevel=7 ')).to.equal('rd.debug loglevel=7');
    expect(validateAppend('rd.shell=0 init="/bin/sh -c x" quiet')).to.equal('rd.shell=0 init="/bin/sh -c x" quiet');
    expect(validateAppend('a=b=c $HOME {x} nbd.max_part=0')).to.equal('a=b=c $HOME {x} nbd.max_part=0');
    expect(validateAppend(`x=${'y'.repeat(1022)}`)).to.have.length(1024);
    expect(validateAppend('')).to.equal('');
  });
});

describe('kernelArgs', () => {
  it('builds the union client command line: the seed\'s rd.unionfs=1 for unionfs-fuse (the default), the method by name for overlayfs, none without', () => {
    expect(kernelArgs({ exportName: 'root', union: 'unionfs-fuse' })).to.equal(`${BASE} rd.unionfs=1`);
    expect(kernelArgs({ exportName: 'root', union: 'overlayfs' })).to.equal(`${BASE} rd.ltsp.union=overlayfs`);
    expect(kernelArgs({ exportName: 'root', union: 'none' })).to.equal(BASE);
  });

  it('a kept client (--keep) asks dracut for its shell, soon; a user\'s --append comes after, so it wins (dracut takes the last value)', () => {
    expect(kernelArgs({ exportName: 'root', union: 'unionfs-fuse', rescueShell: true })).to.equal(`${BASE} rd.unionfs=1 rd.shell rd.retry=${RESCUE_RETRY_S}`);
    expect(kernelArgs({ exportName: 'root', union: 'none', rescueShell: true, append: 'rd.retry=180' })).to.match(/ rd\.retry=\d+ rd\.retry=180$/);
    expect(kernelArgs({ exportName: 'root', union: 'unionfs-fuse' })).to.not.match(/rd\.shell|rd\.retry/);
  });

  it("is the command line a real union boot reported, once iPXE expanded its settings to the boot's lease", () => {
    const log = readFileSync(join(FIXTURES_DIR, 'consoles', 'console-union-http.log'), 'utf8');
    const reported = /\] Command line: (.*)$/m.exec(log)?.[1];
    const [, ip, mask] = /^net0: (\S+)\/(\S+)$/m.exec(log) ?? [];
    const mac = /net0: ([0-9a-f:]{17}) using/.exec(log)?.[1];
    expect([ip, mask, mac]).to.deep.equal(['10.213.1.164', '255.255.255.0', '52:54:00:4c:33:01']);
    expect(reported).to.equal(
      kernelArgs({ exportName: 'root', union: 'unionfs-fuse' })
        .replaceAll('${next-server}', '10.213.1.2')
        .replace('${net0/ip}', ip as string)
        .replace('${net0/netmask}', mask as string)
        .replace('${net0/mac}', mac as string),
    );
  });

  it('configures the leased address statically on the NIC that booted, on its subnet (no peer) and without a gateway', () => {
    const ipArg = kernelArgs({ exportName: 'root', union: 'none' }).split(' ').find((a) => a.startsWith('ip='));
    // ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:<autoconf>
    expect(ipArg?.slice(3).split(':')).to.deep.equal(['${net0/ip}', '', '', '${net0/netmask}', '', 'lab0', 'none']);
    expect(kernelArgs({ exportName: 'root', union: 'none' })).to.include(' ifname=lab0:${net0/mac} ');
    expect(kernelArgs({ exportName: 'root', union: 'none' })).not.to.include('dhcp');
  });

  it('builds the read-only client command line', () => {
    expect(kernelArgs({ exportName: 'root', union: 'none' })).to.equal(BASE);
  });

  it('puts the checked, trimmed extra arguments last', () => {
    expect(kernelArgs({ exportName: 'bookworm-2.img', union: 'unionfs-fuse', append: ' rd.debug loglevel=7 ' })).to.equal(
      `root=nbd:\${next-server}:bookworm-2.img:ext4:ro rd.neednet=1 ${IP} console=ttyS0,115200 rd.unionfs=1 rd.debug loglevel=7`,
    );
    expect(kernelArgs({ exportName: 'root', union: 'none', append: 'quiet' })).to.equal(`${BASE} quiet`);
  });

  it('adds nothing, not even a space, for empty or blank extra arguments', () => {
    expect(kernelArgs({ exportName: 'root', union: 'none', append: '' })).to.equal(BASE);
    expect(kernelArgs({ exportName: 'root', union: 'none', append: '   ' })).to.equal(BASE);
  });

  it('checks the extra arguments', () => {
    expect(usageError(() => kernelArgs({ exportName: 'root', union: 'unionfs-fuse', append: 'a\nb' })).message).to.match(/newline/);
  });

  it('refuses export names that are not plain names', () => {
    for (const exportName of ['', 'root:ext4', 'a b', 'root/../x', '${x}', 'r\u00f6t', 'x'.repeat(65)]) {
      expect(usageError(() => kernelArgs({ exportName, union: 'none' })).message, exportName).to.equal(
        `export name '${exportName}' is not a plain name (letters, digits, . _ -)`,
      );
    }
    expect(kernelArgs({ exportName: 'x'.repeat(64), union: 'none' })).to.include(`:${'x'.repeat(64)}:ext4:ro`);
  });
});

describe('clientScript', () => {
  it('writes the iPXE script that fetches the kernel and initramfs of its kind over HTTP', () => {
    expect(clientScript('c1', `${BASE} rd.unionfs=1`, clientSpec({ kind: 'ltsp' }))).to.equal(
      [
        '#!ipxe',
        'echo ltsp-lab: client c1 (ltsp)',
        `kernel http://\${next-server}/boot/ltsp/vmlinuz root=nbd:\${next-server}:root:ext4:ro rd.neednet=1 ${IP} console=ttyS0,115200 rd.unionfs=1`,
        'initrd http://${next-server}/boot/ltsp/initrd.img',
        'echo ltsp-lab: kernel and initramfs fetched',
        'boot',
        '',
      ].join('\n'),
    );
    expect(clientScript('c2', BASE, clientSpec({ kind: 'stock' }))).to.equal(
      [
        '#!ipxe',
        'echo ltsp-lab: client c2 (stock)',
        `kernel http://\${next-server}/boot/stock/vmlinuz ${BASE}`,
        'initrd http://${next-server}/boot/stock/initrd.img',
        'echo ltsp-lab: kernel and initramfs fetched',
        'boot',
        '',
      ].join('\n'),
    );
  });

  it('names the files the server bind-mounts for that kind, and no other kind\'s', () => {
    const images = { serverImage: 's', rootImage: '/c/root.ext4', kernel: '/c/ltsp/vmlinuz', initrd: '/c/ltsp/initrd.img', clients: { ltsp: { kernel: '/c/ltsp/vmlinuz', initrd: '/c/ltsp/initrd.img' }, stock: { kernel: '/c/stock/vmlinuz', initrd: '/c/stock/initrd.img' } } };
    const mounts = new Map(servedMounts(images).map((m) => [m.target, m.source]));
    for (const kind of CLIENT_KINDS) {
      const script = clientScript('c1', BASE, clientSpec({ kind }));
      const fetched = [...script.matchAll(/http:\/\/\$\{next-server\}\/(\S+)/g)].map((m) => `/srv/tftp/${m[1]}`);
      expect(fetched.map((f) => mounts.get(f)), kind).to.deep.equal([`/c/${kind}/vmlinuz`, `/c/${kind}/initrd.img`]);
    }
    // The TFTP root keeps the default kind's files: ltsp-server-config refuses to start without them.
    expect(mounts.get('/srv/tftp/vmlinuz')).to.equal('/c/ltsp/vmlinuz');
    expect(mounts.get('/srv/ltsp/root.ext4')).to.equal('/c/root.ext4');
  });

  it('a kind the image set lacks is not mounted at all (its clients are refused before QEMU starts)', () => {
    const mounts = servedMounts({ serverImage: 's', rootImage: '/r', kernel: '/k', initrd: '/i', clients: { stock: { kernel: '/k', initrd: '/i' } } }).map((m) => m.target);
    expect(mounts.filter((t) => t.includes('/boot/'))).to.deep.equal(['/srv/tftp/boot/stock/vmlinuz', '/srv/tftp/boot/stock/initrd.img']);
  });
});

describe('the ltsp23 stack: LTSP 23\'s kernel line, its files, its NBD export', () => {
  const ARGS = 'root=/dev/nbd0 nbdroot=${next-server},x86_64,nbd0 BOOTIF=01-${net0/mac:hexhyp} console=ttyS0,115200';

  it("boots initramfs-tools' NBD root by LTSP's image name, DHCP in the initramfs (no ip=), and none of dracut's arguments", () => {
    expect(ltsp23KernelArgs({ imageName: 'x86_64' })).to.equal(ARGS);
    expect(ltsp23KernelArgs({ imageName: 'x86_64', append: ' ltsp.debug=1 ' })).to.equal(`${ARGS} ltsp.debug=1`);
    expect(usageError(() => ltsp23KernelArgs({ imageName: 'x86 64' })).message).to.match(/not a plain name/);
  });

  it("fetches the kernel, ltsp.img and the image's initrd.img as ltsp.ipxe does, from where the server mounts them", () => {
    const script = clientScript('c1', ARGS, clientSpec({ stack: 'ltsp23' }), 'x86_64');
    expect(script).to.equal(
      [
        '#!ipxe',
        'echo ltsp-lab: client c1 (ltsp23 x86_64)',
        `kernel http://\${next-server}/ltsp/x86_64/vmlinuz initrd=ltsp.img initrd=initrd.img ${ARGS}`,
        'initrd http://${next-server}/ltsp/ltsp.img',
        'initrd http://${next-server}/ltsp/x86_64/initrd.img',
        'echo ltsp-lab: kernel and initramfs fetched',
        'boot',
        '',
      ].join('\n'),
    );
    const images = {
      serverImage: 's', rootImage: '/c/root.ext4', kernel: '/c/k', initrd: '/c/i', clients: {},
      ltsp23: { imageName: 'x86_64', image: '/c/l/x86_64.img', kernel: '/c/l/vmlinuz', initrd: '/c/l/initrd.img' },
    };
    const mounts = new Map(servedMounts(images).map((m) => [m.target, m.source]));
    const fetched = [...script.matchAll(/http:\/\/\$\{next-server\}\/(\S+)/g)].map((m) => `/srv/tftp/${m[1]}`);
    // ltsp.img is not mounted: the server's own `ltsp initrd` writes it at start (its users).
    expect(fetched.map((f) => mounts.get(f))).to.deep.equal(['/c/l/vmlinuz', undefined, '/c/l/initrd.img']);
    expect(fetched[1]).to.equal('/srv/tftp/ltsp/ltsp.img');
    // The squashfs where LTSP keeps images: ltsp-server-config exports each one by its name.
    expect(mounts.get('/srv/ltsp/images/x86_64.img')).to.equal('/c/l/x86_64.img');
  });

  it('is refused without an image to boot', () => {
    expect(usageError(() => clientScript('c1', ARGS, clientSpec({ stack: 'ltsp23' }))).message).to.match(/serves no ltsp23 image/);
  });
});

describe('kernelArgs with a --root-arg', () => {
  const tail = `rd.neednet=1 ${IP} console=ttyS0,115200`;

  it('replaces the root argument, with {server} as iPXE\'s next-server and {export} as the export', () => {
    expect(kernelArgs({ exportName: 'root', union: 'none', rootArg: 'root=nbd:{server}:{export}::errors=panic' })).to.equal(`root=nbd:\${next-server}:root::errors=panic ${tail}`);
    expect(kernelArgs({ exportName: 'other', union: 'none', rootArg: 'netroot=nbd:{server}:{export}:ext4:ro root=LABEL=ltsp-root' })).to.equal(
      `netroot=nbd:\${next-server}:other:ext4:ro root=LABEL=ltsp-root ${tail}`,
    );
  });

  it('a root from DHCP makes the initramfs ask DHCP itself, instead of taking iPXE\'s lease', () => {
    for (const rootArg of ['root=dhcp', 'root=/dev/root netroot=dhcp']) {
      const args = kernelArgs({ exportName: 'root', union: 'unionfs-fuse', rootArg });
      expect(args).to.contain('ip=lab0:dhcp ifname=lab0:${net0/mac}').and.not.contain('${net0/ip}');
    }
    expect(rootFromDhcp('root=dhcpx')).to.equal(false);
    expect(rootFromDhcp('netroot=dhcp6 root=/dev/root')).to.equal(true);
  });

  const bad: [string, string, RegExp][] = [
    ['no root at all', 'rd.debug', /has no root= or netroot= argument/],
    ['an unknown placeholder', 'root=nbd:{host}:root', /unknown placeholder \{host\}/],
    ["iPXE's own expansion", 'root=nbd:${next-server}:root', /--root-arg contains '\$\{'/],
    ['a newline', 'root=nbd:{server}:root\nrd.debug', /--root-arg contains a newline/],
  ];
  for (const [what, rootArg, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(usageError(() => validateRootArg(rootArg)).message).to.match(message);
    });
  }

  it('a root-path is one word without quotes, with the same placeholders', () => {
    expect(validateRootPath('nbd:{server}:{export}:ext4:ro')).to.equal('nbd:{server}:{export}:ext4:ro');
    expect(usageError(() => validateRootPath('nbd:{server}:root ext4')).message).to.match(/one word of printable ASCII/);
    expect(usageError(() => validateRootPath('nbd:"x"')).message).to.match(/without quotes/);
    expect(usageError(() => validateRootPath('nbd:{srv}:root')).message).to.match(/--root-path has an unknown placeholder \{srv\}/);
  });
});

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_DIMENSIONS, clientSpec, type UnionMethod } from '../client/client-spec';
import { repoRoot } from '../common/paths';
import { kernelArgs } from './kernel-args';
import { BOOT_FAIL_PATTERNS, bootStages } from './stages';
import { UNION_BRANCHES } from './union-method';

/**
 * The dracut module's side of the union method, run on the host: ltsp-union-method.sh and
 * the pre-pivot hook ltsp-union.sh sourced by bash, with dracut-lib's getarg and getargbool
 * reading a given kernel command line, and mount, findmnt, modprobe and /dev/kmsg stubbed:
 * what the harness asks for (UNION_ARGS) is what the module lays, and what it prints is
 * what the union stage waits for.
 */
const MODULE = join(repoRoot(), 'vm-images/client/dracut/90ltsp-union');

/** dracut-lib's getarg (the last KEY=VALUE wins) and getargbool, over $CMDLINE. */
const DRACUT_LIB = `
getarg() { local k=\${1%=} a v found=1; for a in $CMDLINE; do case $a in "$k="*) v=\${a#"$k="}; found=0 ;; esac; done; [ $found = 0 ] && echo "$v"; return $found; }
getargbool() { local v; v=$(getarg "$2=") || { [ "$1" = 1 ]; return; }; case $v in 0|no|off) return 1 ;; *) return 0 ;; esac; }
`;

function bash(script: string, cmdline: string, env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const r = spawnSync('bash', ['-c', `CMDLINE='${cmdline}'\n${DRACUT_LIB}\n${script}`], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

const methodLib = (): string => readFileSync(join(MODULE, 'ltsp-union-method.sh'), 'utf8');

/** The method the module reads from a kernel command line (ltsp_union_method's output and status). */
function methodOf(cmdline: string): { code: number; out: string } {
  return bash(`${methodLib()}\nltsp_union_method`, cmdline);
}

describe('ltsp-union-method.sh: the union method from the kernel command line', () => {
  it('knows the methods the client spec knows, by the same names', () => {
    expect(bash(`${methodLib()}\necho "$LTSP_UNION_METHODS"`, '').out.trim().split(' ')).to.deep.equal([...CLIENT_DIMENSIONS.union.values]);
  });

  for (const method of CLIENT_DIMENSIONS.union.values) {
    it(`reads ${method} from the command line the harness gives a ${method} client`, () => {
      expect(methodOf(kernelArgs({ exportName: 'root', union: method }))).to.deep.equal({ code: 0, out: `${method}\n` });
    });
  }

  it('keeps the seed\'s rd.unionfs=1 as unionfs-fuse; rd.ltsp.union= wins over it; an unknown name is refused', () => {
    expect(methodOf('rd.unionfs=1').out).to.equal('unionfs-fuse\n');
    expect(methodOf('rd.unionfs=0').out).to.equal('none\n');
    expect(methodOf('rd.unionfs=1 rd.ltsp.union=overlayfs').out).to.equal('overlayfs\n');
    expect(methodOf('rd.unionfs=1 rd.ltsp.union=none').out).to.equal('none\n');
    expect(methodOf('rd.ltsp.union=aufs')).to.deep.equal({ code: 1, out: 'aufs\n' });
  });
});

describe('ltsp-union.sh: each method laid, and the line the union stage waits for', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-union-'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'sysroot', 'sbin'), { recursive: true });
    writeFileSync(join(dir, 'sysroot', 'sbin', 'init'), '');
    chmodSync(join(dir, 'sysroot', 'sbin', 'init'), 0o755);
    // exec -a runs a program, not a function: unionfs-fuse is a script on PATH that says how it was called.
    writeFileSync(join(dir, 'bin', 'unionfs'), '#!/bin/sh\necho "UNIONFS $0 $*"\n');
    chmodSync(join(dir, 'bin', 'unionfs'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the hook as dracut-pre-pivot sources it, with this command line. */
  function hook(cmdline: string): { code: number; out: string } {
    const script = readFileSync(join(MODULE, 'ltsp-union.sh'), 'utf8')
      .replace('. /lib/ltsp-test-delay.sh', 'ltsp_test_delay() { return 0; }')
      .replace('. /lib/ltsp-union-method.sh', `. ${join(MODULE, 'ltsp-union-method.sh')}`)
      // /dev/kmsg and /dev/console are not ours to write here; /dev/fuse may be missing on the host.
      .replace(/>\/dev\/kmsg 2>\/dev\/null \|\| echo "ltsp-union: \$\*" >\/dev\/console/, '')
      .replace('[ -c /dev/fuse ]', '[ -c /dev/null ]');
    const stubs = [
      `NEWROOT=${join(dir, 'sysroot')}`,
      'mount() { echo "MOUNT $*"; }',
      'mkdir() { echo "MKDIR $*"; }',
      'modprobe() { echo "MODPROBE $*"; }',
      'grep() { return 0; }',
      'findmnt() { echo /dev/nbd0; }',
      'ismounted() { return 0; }',
      'warn() { :; }',
      'emergency_shell() { echo "EMERGENCY $*"; }',
    ].join('\n');
    return bash(`${stubs}\n${script}`, cmdline, { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` });
  }

  const unionStage = (method: UnionMethod) => bootStages({ client: clientSpec({ union: method }) }).find((s) => s.id === 'union')!;

  for (const method of ['unionfs-fuse', 'overlayfs'] as const) {
    it(`${method}: a tmpfs takes the writes at ${UNION_BRANCHES[method].upper}, and its lines name the method and are what the union stage waits for`, () => {
      const r = hook(kernelArgs({ exportName: 'root', union: method }));
      expect(r.code, r.out).to.equal(0);
      const lines = r.out.split('\n');
      const mounted = lines.find((l) => /ltsp-union: mounted /.test(l));
      expect(mounted, r.out).to.equal(`<5>ltsp-union: mounted ro=/dev/nbd0 rw=tmpfs union=${join(dir, 'sysroot')} method=${method}`);
      expect(unionStage(method).pattern.test(mounted!)).to.equal(true);
      expect(lines).to.include(`<5>ltsp-union: start ro=/dev/nbd0 method=${method}`);
      expect(lines).to.include(`MOUNT --move ${join(dir, 'sysroot')} ${UNION_BRANCHES[method].ro}`);
      expect(lines).to.include('MOUNT -t tmpfs -o mode=0755,size=50% ltsp-rw /run/ltsp-union/rw');
      expect(BOOT_FAIL_PATTERNS.filter((f) => f.pattern.test(r.out)).map((f) => f.name)).to.deep.equal([]);
    });
  }

  it('unionfs-fuse: its RW branch the tmpfs itself, its RO branch the NBD root (both in its chroot); no overlay', () => {
    const r = hook(kernelArgs({ exportName: 'root', union: 'unionfs-fuse' }));
    const { ro, upper } = UNION_BRANCHES['unionfs-fuse'];
    expect(r.out).to.include(`MOUNT -t tmpfs -o mode=0755,size=50% ltsp-rw ${upper}\n`);
    expect(r.out).to.match(/^UNIONFS \S+ -o cow,chroot=\/run\/ltsp-union,allow_other,suid,dev,max_files=32768 \/rw=RW:\/ro=RO \S+\/sysroot$/m);
    expect([`/run/ltsp-union/rw`, `/run/ltsp-union/ro`]).to.deep.equal([upper, ro]);
    expect(r.out).to.not.match(/-t overlay/);
  });

  it('overlayfs: the kernel overlay, upper and work dirs on the tmpfs, the NBD root below; no unionfs-fuse', () => {
    const r = hook(kernelArgs({ exportName: 'root', union: 'overlayfs' }));
    const { ro, upper } = UNION_BRANCHES.overlayfs;
    expect(r.out).to.include(`MKDIR -p ${upper} /run/ltsp-union/rw/work\n`);
    expect(r.out).to.include(`MOUNT -t overlay -o lowerdir=${ro},upperdir=${upper},workdir=/run/ltsp-union/rw/work ltsp-union ${join(dir, 'sysroot')}\n`);
    expect(r.out).to.include('MODPROBE overlay');
    expect(r.out).to.not.include('UNIONFS');
  });

  it('none: one "off" line, what the union stage of a client without the union waits for, and nothing mounted', () => {
    const r = hook(kernelArgs({ exportName: 'root', union: 'none' }));
    expect(r).to.deep.equal({ code: 0, out: '<5>ltsp-union: off (method none): booting the plain read-only root\n' });
    expect(unionStage('none').pattern.test(r.out)).to.equal(true);
    expect(unionStage('unionfs-fuse').pattern.test(r.out)).to.equal(false);
  });

  it('an unknown method fails the boot at once, naming the known ones (the harness fails on "ltsp-union: FAILED")', () => {
    const r = hook('rd.ltsp.union=aufs');
    expect(r.code).to.equal(1);
    expect(r.out).to.include('<5>ltsp-union: FAILED: rd.ltsp.union=aufs: not one of unionfs-fuse overlayfs none');
    expect(BOOT_FAIL_PATTERNS.filter((f) => f.pattern.test(r.out)).map((f) => f.name)).to.include('union-failed');
    expect(r.out).to.not.include('MOUNT');
  });
});

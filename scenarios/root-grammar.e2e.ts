import { expect } from 'chai';
import { BootStageError, type StartedLab, type StartedThinClient } from '../harness/index';
import { rejection } from './support/outcome';
import { startClient, startSuiteLab } from './support/suite-lab';

/*
 * The root argument as a stack's maintainer may write it: each form dracut.cmdline(7)
 * documents for an NBD root, booted through ./lab boot's --root-arg and --root-path
 * (ThinClient.withRootArg, Lab.withRootPath). A form that boots is checked where it
 * lands: /dev/nbd0's filesystem type and the mount option the form asked for. A form
 * dracut 059 does not take is pinned by dracut's (or nbd-client's) own error.
 *
 * The lab's DHCP also sends a root-path to the initramfs (not to iPXE) for the form
 * that takes its root from DHCP; a client with a static ip= never asks for it.
 */
const ROOT_PATH = 'nbd:{server}:{export}:ext4:ro,nodiratime';

interface Form {
  name: string;
  rootArg: string;
  /** What dracut makes of it. */
  says: string;
  fstype?: string;
  /** Mount options /dev/nbd0 must carry. */
  options?: string[];
  /** A further check in the client: command and expected output. */
  also?: [string, string, string];
  /** A form that must not boot: the error it must stop with. */
  fails?: { stage: RegExp; console: RegExp };
}

/* Booted two at a time (two cores). */
const PAIRS: Form[][] = [
  [
    {
      name: 'opts',
      rootArg: 'root=nbd:{server}:{export}::errors=panic',
      says: 'no fstype (dracut mounts with auto) and a mount option; no ro, so mount falls back to ro on the read-only export',
      fstype: 'ext4',
      options: ['ro', 'errors=panic'],
    },
    {
      name: 'nbdopts',
      rootArg: 'root=nbd:{server}:{export}:ext4:ro,noatime:--block-size=4096',
      says: 'fstype, mount options and an nbd-client option (NBDOPTS, handed to nbd-client)',
      fstype: 'ext4',
      options: ['ro', 'noatime'],
      also: ['the NBD device has the block size nbd-client was asked for', 'cat /sys/block/nbd0/queue/logical_block_size', '4096'],
    },
  ],
  [
    {
      name: 'label',
      rootArg: 'netroot=nbd:{server}:{export}:ext4:ro root=LABEL=ltsp-root',
      says: 'netroot= connects NBD; root=LABEL= mounts what appears as /dev/disk/by-label/ltsp-root',
      fstype: 'ext4',
      options: ['ro'],
      also: ['the root was found by its label', 'findmnt -n -o LABEL -S /dev/nbd0', 'ltsp-root'],
    },
    {
      name: 'dhcp',
      rootArg: 'root=/dev/root netroot=dhcp',
      says: `the root-path comes from the initramfs's own DHCP (dnsmasq sends ${ROOT_PATH})`,
      fstype: 'ext4',
      // nodiratime is written only in the root-path: the kernel command line has no NBD at all.
      options: ['ro', 'nodiratime'],
      also: ['the kernel command line names no NBD server: the root came from DHCP', 'grep -c nbd /proc/cmdline || true', '0'],
    },
  ],
  [
    {
      name: 'slash',
      rootArg: 'root=nbd:{server}:10809/{export}:ext4:ro',
      says: "the man page's PORT/EXPORTNAME: dracut 059 passes '10809/root' to nbd-client as the export name, which the server does not have",
      fails: { stage: /NBD connected/, console: /Server said: Export unknown/ },
    },
    {
      name: 'port',
      rootArg: 'root=nbd:{server}:10809:ext4:ro',
      says: 'a numeric PORT and no name: nbd-client asks for the export "", and the server\'s exports are named',
      fails: { stage: /NBD connected/, console: /Server said: Export unknown/ },
    },
  ],
];

describe('root argument forms (dracut.cmdline(7) nbd grammar): each boots to a root mounted as it asked, or fails as dracut says @full', function () {
  let lab: StartedLab | undefined;

  before(async function () {
    // The lab's default client (ltsp): its shell initramfs mounts the root with what our
    // module's netroot hook (ltsp-nbd-rootflags.sh) takes from each form, as the stock
    // client's systemd initramfs does through sysroot.mount.
    lab = await startSuiteLab(this.test!.parent!, (l) => l.withRootPath(ROOT_PATH));
  });

  after(async function () {
    await lab?.stop();
  });

  for (const pair of PAIRS) {
    describe(pair.map((f) => f.rootArg).join('  |  '), function () {
      const clients = new Map<string, StartedThinClient>();
      const boots = new Map<string, Promise<unknown>>();

      before(async function () {
        for (const f of pair) {
          const c = await startClient(lab!, f.name, (b) => b.withRootArg(f.rootArg));
          clients.set(f.name, c);
          const boot = c.waitForBoot();
          boot.catch(() => undefined);
          boots.set(f.name, boot);
        }
        // Both boots end here, so each test's report shows both clients as they ended, not one still booting.
        await Promise.allSettled(boots.values());
      });

      after(async function () {
        await Promise.allSettled([...clients.values()].map((c) => c.stop()));
      });

      for (const f of pair) {
        if (f.fails) {
          it(`${f.rootArg}: fails at "${f.fails.stage.source}" (${f.says})`, async function () {
            const err = await rejection(boots.get(f.name)!);
            expect(err, 'the boot must fail').to.be.instanceOf(BootStageError);
            const e = err as BootStageError;
            expect(e.stage).to.match(f.fails!.stage);
            expect(e.consoleTail.join('\n')).to.match(f.fails!.console);
          });
          continue;
        }
        it(`${f.rootArg}: boots to login with /dev/nbd0 mounted ${f.fstype} ${f.options!.join(',')} (${f.says})`, async function () {
          await boots.get(f.name);
          const c = clients.get(f.name)!;
          const [fstype, options] = (await c.check('findmnt -n -o FSTYPE,OPTIONS -S /dev/nbd0')).split(/\s+/);
          expect(fstype, 'the filesystem type of /dev/nbd0').to.equal(f.fstype);
          expect((options ?? '').split(','), `the mount options of /dev/nbd0 (${options})`).to.include.members(f.options!);
          expect(await c.check('findmnt -n -o FSTYPE /'), 'the root is still the union over it').to.equal('fuse.@unionfs');
          if (f.also) expect(await c.check(f.also[1]), f.also[0]).to.equal(f.also[2]);
        });
      }
    });
  }
});

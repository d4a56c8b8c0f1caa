import { type ClientSpec, type UnionMethod } from '../client/client-spec';
import { UNION_ARGS } from './union-method';
import { UsageError } from '../common/errors';
import { ltsp23ServedPaths, servedBootPaths } from '../server/boot-files';
import { RESCUE_ARGS } from './rescue-shell';
import { parseTestDelay, TEST_DELAY_ARG } from './test-delay';

/**
 * The kernel's console on the guest's first serial port, which QEMU gives the harness
 * (-serial): every client, the accelerator probe and a bare boot pass it.
 */
export const SERIAL_CONSOLE_ARG = 'console=ttyS0,115200';

/** x86 COMMAND_LINE_SIZE is 2048; leave room for what the lab itself passes. */
const MAX_APPEND = 1024;

/**
 * Checks extra kernel arguments given by a user (`--append`). They end up in an iPXE
 * script line, so they must be one printable line without iPXE's ${...} expansion.
 */
export function validateAppend(append: string, option = '--append'): string {
  const trimmed = append.trim();
  if (trimmed.length > MAX_APPEND) {
    throw new UsageError(`${option} is ${trimmed.length} characters; the limit is ${MAX_APPEND}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(trimmed)) {
    throw new UsageError(`${option} contains a newline or control character; give kernel arguments on one line`, {
      hint: 'e.g. --append "rd.debug loglevel=7"',
    });
  }
  if (/[^\x20-\x7e]/.test(trimmed)) throw new UsageError(`${option} contains non-ASCII characters; kernel arguments are ASCII`);
  if (trimmed.includes('${')) throw new UsageError(`${option} contains '\${', which iPXE would expand; write the value out`);
  if ((trimmed.match(/"/g) ?? []).length % 2 !== 0) throw new UsageError(`${option} has an unbalanced double quote`);
  for (const word of trimmed.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) {
    if (word.startsWith('=')) throw new UsageError(`${option} has an argument without a name: '${word}'`);
    if (word.startsWith(`${TEST_DELAY_ARG}=`)) parseTestDelay(word.slice(TEST_DELAY_ARG.length + 1));
  }
  return trimmed;
}

export interface KernelArgsSpec {
  exportName: string;
  /** The client's union method (ClientSpec.union). */
  union: UnionMethod;
  /** A client kept for a person to look at (./lab boot --keep): a failed initramfs stops at dracut's shell (RESCUE_ARGS). */
  rescueShell?: boolean;
  append?: string;
  /** The root argument(s) in place of the lab's own (a template: see expandRootTemplate). */
  rootArg?: string;
}

/** The placeholders a --root-arg or --root-path template may hold. */
export const ROOT_PLACEHOLDERS = ['{server}', '{export}'] as const;

/**
 * A root argument or DHCP root-path as the user wrote it, with {server} and {export}
 * filled in. In the kernel command line {server} is iPXE's ${next-server}, expanded at
 * boot; in a root-path the server fills in its own address (LAB_ROOT_PATH, ltsp-server).
 */
export function expandRootTemplate(option: string, template: string, values: { server: string; exportName: string }): string {
  const unknown = template.match(/\{[^}]*\}/g)?.find((p) => !(ROOT_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown) throw new UsageError(`${option} has an unknown placeholder ${unknown}`, { hint: `placeholders: ${ROOT_PLACEHOLDERS.join(' ')}` });
  return template.replaceAll('{server}', values.server).replaceAll('{export}', values.exportName);
}

/**
 * Checks a --root-arg: kernel arguments like --append's, which say where the root is
 * (root= or netroot=). dracut.cmdline(7): root=nbd:SERVER:PORT|NAME[:FSTYPE[:OPTS[:NBDOPTS]]],
 * netroot=nbd:... with root=LABEL=..., or root=dhcp / netroot=dhcp with a DHCP root-path.
 */
export function validateRootArg(rootArg: string): string {
  const trimmed = validateAppend(rootArg, '--root-arg');
  if (!/(^|\s)(net)?root=/.test(trimmed)) {
    throw new UsageError(`--root-arg '${trimmed}' has no root= or netroot= argument`, { hint: "e.g. --root-arg 'root=nbd:{server}:{export}:ext4:ro,noatime'" });
  }
  expandRootTemplate('--root-arg', trimmed, { server: '', exportName: '' });
  return trimmed;
}

/** Checks a --root-path: one word of printable ASCII (dnsmasq quotes it), placeholders as in a root argument. */
export function validateRootPath(rootPath: string): string {
  if (!/^[\x21-\x7e]+$/.test(rootPath) || /["\\]/.test(rootPath)) {
    throw new UsageError(`--root-path '${rootPath}' must be one word of printable ASCII without quotes or backslashes`, { hint: "e.g. --root-path 'nbd:{server}:{export}:ext4:ro'" });
  }
  expandRootTemplate('--root-path', rootPath, { server: '', exportName: '' });
  return rootPath;
}

/** What dracut is given when only a --root-path is: the root comes from DHCP (dracut.cmdline(7)). */
export const DHCP_ROOT_ARG = 'root=/dev/root netroot=dhcp';

/** Whether a root argument has dracut take the root from DHCP (root=dhcp, netroot=dhcp), so the initramfs must run its own DHCP. */
export function rootFromDhcp(rootArg: string): boolean {
  return /(^|\s)(net)?root=dhcp6?(\s|$)/.test(rootArg);
}

/**
 * The address iPXE leased, handed to dracut as a static configuration of the NIC that
 * booted (named lab0 by its MAC): the initramfs then asks no second DHCP (dhclient's
 * discover and offer cost ~6 s of TCG). iPXE expands ${net0/...} when it runs the
 * script; the lab has no router, so no gateway. dracut still probes the address for a
 * duplicate (arping, ~2 s): naming the server as a point-to-point peer would skip that,
 * but it leaves the client a host route to the server instead of its subnet.
 */
export const LEASE_IP_ARGS = 'ip=${net0/ip}:::${net0/netmask}::lab0:none ifname=lab0:${net0/mac}';

/** For a root from DHCP: dracut's dhclient asks the lab's DHCP server again, on the NIC that booted. */
export const INITRAMFS_DHCP_ARGS = 'ip=lab0:dhcp ifname=lab0:${net0/mac}';

/** The lab's own root argument (a template: {server}, {export}), unless a --root-arg replaces it. */
export const LAB_ROOT_ARG = 'root=nbd:{server}:{export}:ext4:ro';

/**
 * The client's kernel command line; ${next-server} is expanded by iPXE to the server
 * that answered DHCP. dracut 059's nbd module takes root=nbd:SERVER:EXPORT:FSTYPE:OPTS,
 * where a non-numeric port field is the export name (its srv:port/name form fails: see
 * scenarios/root-grammar.e2e.ts). A --root-arg replaces the lab's root= argument.
 */
export function kernelArgs(spec: KernelArgsSpec): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(spec.exportName)) {
    throw new UsageError(`export name '${spec.exportName}' is not a plain name (letters, digits, . _ -)`);
  }
  const root = spec.rootArg === undefined ? LAB_ROOT_ARG : validateRootArg(spec.rootArg);
  const args = [
    expandRootTemplate('--root-arg', root, { server: '${next-server}', exportName: spec.exportName }),
    'rd.neednet=1',
    rootFromDhcp(root) ? INITRAMFS_DHCP_ARGS : LEASE_IP_ARGS,
    SERIAL_CONSOLE_ARG,
  ];
  args.push(...UNION_ARGS[spec.union]);
  if (spec.rescueShell) args.push(...RESCUE_ARGS);
  const extra = spec.append === undefined ? '' : validateAppend(spec.append);
  if (extra) args.push(extra);
  return args.join(' ');
}

/**
 * The iPXE script the server hands to one client (clients/<mac>.ipxe, over TFTP). The
 * kernel and initramfs come over HTTP: TFTP's one block per round trip took 3.5 s for
 * one client and ten times that for four clients busy-polling two cores. Each client
 * kind's files are served at a path of their own (server/boot-files.ts), so clients of
 * two kinds boot from one lab.
 */
export function clientScript(client: string, args: string, spec: ClientSpec, ltsp23Image?: string): string {
  if (spec.stack === 'ltsp23') return ltsp23Script(client, args, ltsp23Image);
  const files = servedBootPaths(spec.kind);
  return [
    '#!ipxe',
    `echo ltsp-lab: client ${client} (${spec.kind})`,
    `kernel http://\${next-server}/${files.kernel} ${args}`,
    `initrd http://\${next-server}/${files.initrd}`,
    'echo ltsp-lab: kernel and initramfs fetched',
    'boot',
    '',
  ].join('\n');
}

/**
 * The ltsp23 lane's script: the kernel and initramfs lines of LTSP's own ltsp.ipxe (its
 * :ltsp label, `ltsp ipxe`), ltsp.img first, then the image's initrd.img, both named on
 * the command line as LTSP does, fetched over the lab's HTTP like the k12 lane's (a
 * deviation: vm-images/ltsp23/DEVIATIONS.md). The lab writes it per client instead of
 * chaining ltsp.ipxe, whose menu waits 5 s and whose NBD-less methods are NFS.
 */
function ltsp23Script(client: string, args: string, imageName: string | undefined): string {
  if (imageName === undefined) throw new UsageError(`client ${client} boots the ltsp23 stack, but the lab serves no ltsp23 image`, { hint: 'run ./lab build' });
  const files = ltsp23ServedPaths(imageName);
  const url = (path: string): string => `http://\${next-server}/${path}`;
  return [
    '#!ipxe',
    `echo ltsp-lab: client ${client} (ltsp23 ${imageName})`,
    `kernel ${url(files.kernel)} initrd=ltsp.img initrd=initrd.img ${args}`,
    `initrd ${url(files.ltspImg)}`,
    `initrd ${url(files.initrd)}`,
    'echo ltsp-lab: kernel and initramfs fetched',
    'boot',
    '',
  ].join('\n');
}

/**
 * The ltsp23 lane's kernel command line: initramfs-tools' NBD root as LTSP 23 boots it
 * (nbd-client's local-top/nbd script: nbdroot=SERVER,EXPORT,DEVICE; root=/dev/nbd0),
 * LTSP's BOOTIF (ltsp.ipxe's cmdline_ltsp: the initramfs's DHCP asks on the NIC that
 * booted), and the lab's serial console. No ip=: the initramfs asks DHCP itself, LTSP's way.
 */
export function ltsp23KernelArgs(spec: { imageName: string; append?: string }): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(spec.imageName)) throw new UsageError(`LTSP image name '${spec.imageName}' is not a plain name (letters, digits, . _ -)`);
  const args = ['root=/dev/nbd0', `nbdroot=\${next-server},${spec.imageName},nbd0`, 'BOOTIF=01-${net0/mac:hexhyp}', SERIAL_CONSOLE_ARG];
  const extra = spec.append === undefined ? '' : validateAppend(spec.append);
  if (extra) args.push(extra);
  return args.join(' ');
}

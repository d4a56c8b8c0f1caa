import { UsageError } from '../common/errors';
import { parseTestDelay, TEST_DELAY_ARG } from './test-delay';

/** x86 COMMAND_LINE_SIZE is 2048; leave room for what the lab itself passes. */
const MAX_APPEND = 1024;

/**
 * Checks extra kernel arguments given by a user (`--append`). They end up in an iPXE
 * script line, so they must be one printable line without iPXE's ${...} expansion.
 */
export function validateAppend(append: string): string {
  const trimmed = append.trim();
  if (trimmed.length > MAX_APPEND) {
    throw new UsageError(`--append is ${trimmed.length} characters; the limit is ${MAX_APPEND}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(trimmed)) {
    throw new UsageError('--append contains a newline or control character; give kernel arguments on one line', {
      hint: 'e.g. --append "rd.debug loglevel=7"',
    });
  }
  if (/[^\x20-\x7e]/.test(trimmed)) throw new UsageError('--append contains non-ASCII characters; kernel arguments are ASCII');
  if (trimmed.includes('${')) throw new UsageError("--append contains '${', which iPXE would expand; write the value out");
  if ((trimmed.match(/"/g) ?? []).length % 2 !== 0) throw new UsageError('--append has an unbalanced double quote');
  for (const word of trimmed.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) {
    if (word.startsWith('=')) throw new UsageError(`--append has an argument without a name: '${word}'`);
    if (word.startsWith(`${TEST_DELAY_ARG}=`)) parseTestDelay(word.slice(TEST_DELAY_ARG.length + 1));
  }
  return trimmed;
}

export interface KernelArgsSpec {
  exportName: string;
  union: boolean;
  /** A client kept for a person to look at (./lab boot --keep): a failed initramfs stops at dracut's shell (RESCUE_ARGS). */
  rescueShell?: boolean;
  append?: string;
}

/**
 * How long dracut's initqueue retries before it gives up with "Could not boot." and
 * starts its emergency shell (dracut.cmdline(7) rd.retry; dracut-initqueue counts
 * 2 x rd.retry loops of udev settle + 0.5 s sleep, default 180 s). Measured on this
 * stack under TCG with a root it cannot reach: rd.retry=20 gave up 30 s after the
 * initqueue started, so dracut's default leaves a person waiting about 4.5 minutes for
 * a failure the harness saw in the first seconds. 30 s is above what a client that
 * boots spends in the initqueue (NBD connects 6-17 s after it starts here).
 */
export const RESCUE_RETRY_S = 30;

/**
 * `rd.shell`: dracut-emergency starts a shell (sulogin -e) when the initramfs fails. It is
 * dracut 059's default already (getargbool 1 rd.shell); said outright so a kept client
 * never halts instead. A user's own --append comes after these, so it wins (dracut reads
 * the last value).
 */
export const RESCUE_ARGS = ['rd.shell', `rd.retry=${RESCUE_RETRY_S}`];

/**
 * The address iPXE leased, handed to dracut as a static configuration of the NIC that
 * booted (named lab0 by its MAC): the initramfs then asks no second DHCP (dhclient's
 * discover and offer cost ~6 s of TCG). iPXE expands ${net0/...} when it runs the
 * script; the lab has no router, so no gateway. dracut still probes the address for a
 * duplicate (arping, ~2 s): naming the server as a point-to-point peer would skip that,
 * but it leaves the client a host route to the server instead of its subnet.
 */
export const LEASE_IP_ARGS = 'ip=${net0/ip}:::${net0/netmask}::lab0:none ifname=lab0:${net0/mac}';

/**
 * The client's kernel command line; ${next-server} is expanded by iPXE to the server
 * that answered DHCP. dracut 059's nbd module takes root=nbd:SERVER:EXPORT:FSTYPE:OPTS,
 * where a non-numeric port field is the export name (its srv:port/name form fails).
 */
export function kernelArgs(spec: KernelArgsSpec): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(spec.exportName)) {
    throw new UsageError(`export name '${spec.exportName}' is not a plain name (letters, digits, . _ -)`);
  }
  const args = [`root=nbd:\${next-server}:${spec.exportName}:ext4:ro`, 'rd.neednet=1', LEASE_IP_ARGS, 'console=ttyS0,115200'];
  if (spec.union) args.push('rd.unionfs=1');
  if (spec.rescueShell) args.push(...RESCUE_ARGS);
  const extra = spec.append === undefined ? '' : validateAppend(spec.append);
  if (extra) args.push(extra);
  return args.join(' ');
}

/**
 * The iPXE script the server hands to one client (clients/<mac>.ipxe, over TFTP). The
 * kernel and initramfs come over HTTP: TFTP's one block per round trip took 3.5 s for
 * one client and ten times that for four clients busy-polling two cores.
 */
export function clientScript(client: string, args: string): string {
  return [
    '#!ipxe',
    `echo ltsp-lab: client ${client}`,
    `kernel http://\${next-server}/vmlinuz ${args}`,
    'initrd http://${next-server}/initrd.img',
    'echo ltsp-lab: kernel and initramfs fetched',
    'boot',
    '',
  ].join('\n');
}

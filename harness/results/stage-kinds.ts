import type { BootStageId, SESSION_STAGE_ID } from './stage-ids';
import type { StageKind } from './types';

/**
 * What the time up to each boot stage (from the previous one) is mostly spent in, by
 * stage id (boot/stages.ts): the waterfall colours its segments by it.
 */
const KIND_OF: Readonly<Record<BootStageId | typeof SESSION_STAGE_ID, StageKind>> = {
  ipxe: 'firmware', // SeaBIOS, option ROM scan, iPXE's banner
  dhcp: 'network', // iPXE's DHCP
  fetched: 'network', // TFTP script, HTTP vmlinuz + initrd
  kernel: 'kernel', // iPXE hands over; the kernel decompresses
  initramfs: 'kernel', // kernel init up to /init
  nbd: 'nbd', // udev, the NIC, nbd-client's handshake
  root: 'nbd', // ext4 over NBD
  union: 'initramfs', // ltsp-union's pre-pivot hook
  'switch-root': 'initramfs',
  'ltsp-overlay': 'initramfs', // the ltsp23 stack: LTSP's initrd-bottom lays the overlay
  'ltsp-init': 'initramfs', // `ltsp init` as PID 1, before it execs systemd
  system: 'userspace',
  login: 'userspace',
  session: 'userspace', // the login typed at the console: authentication on the server, the home, the shell
};

export const STAGE_KINDS: readonly StageKind[] = ['firmware', 'network', 'kernel', 'initramfs', 'nbd', 'userspace', 'other'];

export function stageKind(stage: string): StageKind {
  return (KIND_OF as Readonly<Record<string, StageKind>>)[stage] ?? 'other';
}

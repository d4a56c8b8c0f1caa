import type { FailPattern } from '../console/console-log';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';

/**
 * One boot milestone, stamped from the console. `budgetS` is how long the stage may
 * take after the previous one, in seconds of TCG on the reference host; it is scaled
 * by the measured host speed factor. The budgets are about 3x what was measured.
 */
export interface StageDef {
  id: string;
  label: string;
  pattern: RegExp;
  budgetS: number;
}

export interface StageOptions {
  /** rd.unionfs=1 given: the union stage is "union mounted", otherwise "union off". */
  union: boolean;
}

/** The boot of a thin client, in order: firmware, PXE, kernel, initramfs, NBD, union, login. */
export function bootStages(opts: StageOptions): StageDef[] {
  return [
    { id: 'ipxe', label: 'iPXE start', pattern: /iPXE initialising devices|iPXE \d+\.\d+/, budgetS: 30 },
    { id: 'dhcp', label: 'DHCP lease', pattern: /net0: (\d+\.\d+\.\d+\.\d+)\/\d+\.\d+\.\d+\.\d+/, budgetS: 60 },
    { id: 'fetched', label: 'kernel and initramfs fetched', pattern: /ltsp-lab: kernel and initramfs fetched/, budgetS: 90 },
    { id: 'kernel', label: 'kernel start', pattern: /Linux version \d+\.\d+/, budgetS: 40 },
    { id: 'initramfs', label: 'initramfs start', pattern: /Run \/init as init process|Running in initrd/, budgetS: 90 },
    { id: 'nbd', label: 'NBD connected', pattern: /nbd\d+: detected capacity change from 0/, budgetS: 150 },
    { id: 'root', label: 'root mounted', pattern: /EXT4-fs \(nbd\d+\): mounted|Mounted sysroot\.mount/, budgetS: 60 },
    opts.union
      ? { id: 'union', label: 'union mounted', pattern: /ltsp-union: mounted /, budgetS: 60 }
      : { id: 'union', label: 'union off (read-only root)', pattern: /ltsp-union: off/, budgetS: 60 },
    { id: 'switch-root', label: 'switch_root', pattern: /Starting initrd-switch-root\.service|Switching root\./, budgetS: 60 },
    { id: 'system', label: 'system up', pattern: /^Welcome to (?!.*\(Initramfs\)).*!/, budgetS: 60 },
    { id: 'login', label: 'login prompt', pattern: /login: root \(automatic login\)|^\S+ login:\s*$/, budgetS: 180 },
  ];
}

/**
 * The same kernel, initramfs and root booted by bare QEMU: -kernel/-initrd and
 * root=/dev/vda on a local read-only virtio disk. No firmware menu, no PXE, no NBD:
 * the limit the lab's chain is measured against (./lab bench, case chain).
 */
export function bareBootStages(opts: StageOptions): StageDef[] {
  const pxe = new Map(bootStages(opts).map((s) => [s.id, s]));
  const reuse = (id: string): StageDef => pxe.get(id) as StageDef;
  return [
    // From QEMU start: SeaBIOS loads the kernel from fw_cfg itself.
    { ...reuse('kernel'), budgetS: 60 },
    reuse('initramfs'),
    // udev has to find the disk first; NBD's budget, since nothing is slower locally.
    { id: 'root', label: 'root mounted', pattern: /EXT4-fs \(vda\): mounted|Mounted sysroot\.mount/, budgetS: 150 },
    reuse('union'),
    reuse('switch-root'),
    reuse('system'),
    reuse('login'),
  ];
}

/** The root shell the lab image logs in to on ttyS0. */
export const SHELL_PROMPT = /root@[\w.-]+:[^#\n]*# ?$/;

/**
 * Boot failures seen on the console: the defaults (kernel panic, dracut's emergency
 * shell, "Refusing to continue", NBD errors) plus the firmware's and dracut's own.
 */
export const BOOT_FAIL_PATTERNS: FailPattern[] = [
  ...DEFAULT_FAIL_PATTERNS,
  // iPXE wraps at 80 columns, so its messages can be split; "No more network devices" follows.
  { name: 'ipxe-dhcp', pattern: /No configuration methods|No more network devices/ },
  { name: 'no-boot-device', pattern: /No bootable device|Boot failed: could not read the boot disk/ },
  { name: 'ipxe-boot', pattern: /Could not boot( image)?:/ },
  { name: 'dracut-no-root', pattern: /Could not boot\.|\/dev\/root does not exist/ },
  { name: 'union-failed', pattern: /ltsp-union: FAILED/ },
  // In the systemd initramfs nbd-client's messages carry dracut-initqueue's name, e.g.
  // "dracut-initqueue[396]: Error: Socket failed: Connection refused".
  { name: 'nbd-client-error', pattern: /dracut-initqueue\[\d+\]: Error: / },
];

import { scaledMs, type ScaleBasis } from '../common/budgets';
import type { Accel } from '../common/speed';
import type { FailPattern } from '../qemu-ts-wrapper';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';
import { RESCUE_RETRY_S } from './rescue-shell';
import { DEFAULT_CLIENT_SPEC, type ClientSpec } from '../client/client-spec';
import { SESSION_STAGE_ID, type BootStageId, type StageId } from '../results/stage-ids';

/**
 * One boot milestone, stamped from the console, and how long it may take after the
 * previous one: the one table of boot budgets.
 *
 * - `budgetS.tcg`: seconds of TCG on the reference host (2 cores, speed factor 1), about
 *   3x what was measured there; scaled by the host speed factor and the contention of
 *   clients sharing the cores.
 * - `budgetS.kvm`: seconds under KVM, from what a KVM boot spends (the CPU-bound stages
 *   take a fraction of a second, the wall-clock ones as long as under TCG), not TCG x 0.3.
 * - `floorS`: wall-clock seconds no speed factor may shrink the budget below: iPXE's
 *   banner, DHCP's retries, dracut's address probe and link-up wait in real time.
 */
export interface StageDef {
  id: StageId;
  label: string;
  pattern: RegExp;
  budgetS: Readonly<Record<Accel, number>>;
  floorS: number;
}

export interface StageOptions {
  /**
   * What the client boots (default: the lab's default). Its union method decides the union
   * stage: "union mounted" (either method: ltsp-union.sh's line names it), or "union off"
   * (none). Every kind has the same stages,
   * in the same order (the gate, the fault grammar and ltsp.test.delay name them); what a
   * kind prints inside them differs, and its points (bootPoints) say so.
   */
  client?: ClientSpec;
}

/**
 * A point inside a stage: a console line that says where the stage's time went (the link
 * came up, the first unit started after switch_root). A point is not a stage: it is
 * looked for only between its stage's previous mark and its own, it never fails or
 * orders a boot, and a kind that does not print it simply has no such point.
 */
export interface PointDef {
  id: string;
  label: string;
  /** The stage it is inside (the span from the stage before it up to this stage's mark). */
  stage: BootStageId;
  pattern: RegExp;
}

const budget = (tcg: number, kvm: number): Readonly<Record<Accel, number>> => ({ tcg, kvm });

/** A stage's budget on this host, ms: the one speed-and-contention rule of common/budgets.ts. */
export function stageBudgetMs(stage: StageDef, basis: ScaleBasis, contention = 1): number {
  return scaledMs({ s: stage.budgetS, scaled: true, floorS: stage.floorS }, basis, contention);
}

/** A whole boot's budget: the sum of its stages'. */
export function bootBudgetMs(stages: readonly StageDef[], basis: ScaleBasis, contention = 1): number {
  return stages.reduce((sum, s) => sum + stageBudgetMs(s, basis, contention), 0);
}

/**
 * iPXE's DHCP line, "net0: ADDRESS/MASK ...": the DHCP stage's pattern, and where the lease
 * address is read from. Its "/" after the address means a line seen mid-way (a stage is
 * stamped when its pattern shows, maybe before its line ends) holds the whole address.
 */
export const DHCP_LEASE = /net0: (\d+\.\d+\.\d+\.\d+)\/\d+\.\d+\.\d+\.\d+/;

/** The lease address on a DHCP stage line, whole or partial. */
export function leaseIpOf(line: string): string | undefined {
  return DHCP_LEASE.exec(line)?.[1];
}

/**
 * The boot of a thin client, in order: firmware, PXE, kernel, initramfs, NBD, union, login.
 * The ltsp23 stack's chain (ltsp23Stages) shares the stage ids where the step is the same.
 */
export function bootStages(opts: StageOptions = {}): StageDef[] {
  if (opts.client?.stack === 'ltsp23') return ltsp23Stages();
  return k12Stages(opts);
}

function k12Stages(opts: StageOptions): StageDef[] {
  return [
    { id: 'ipxe', label: 'iPXE start', pattern: /iPXE initialising devices|iPXE \d+\.\d+/, budgetS: budget(30, 10), floorS: 10 },
    { id: 'dhcp', label: 'DHCP lease', pattern: DHCP_LEASE, budgetS: budget(60, 20), floorS: 20 },
    { id: 'fetched', label: 'kernel and initramfs fetched', pattern: /ltsp-lab: kernel and initramfs fetched/, budgetS: budget(90, 20), floorS: 15 },
    { id: 'kernel', label: 'kernel start', pattern: /Linux version \d+\.\d+/, budgetS: budget(40, 10), floorS: 5 },
    { id: 'initramfs', label: 'initramfs start', pattern: /Run \/init as init process|Running in initrd/, budgetS: budget(90, 15), floorS: 5 },
    { id: 'nbd', label: 'NBD connected', pattern: /nbd\d+: detected capacity change from 0/, budgetS: budget(150, 30), floorS: 15 },
    { id: 'root', label: 'root mounted', pattern: /EXT4-fs \(nbd\d+\): mounted|Mounted sysroot\.mount/, budgetS: budget(60, 10), floorS: 5 },
    (opts.client?.union ?? DEFAULT_CLIENT_SPEC.union) !== 'none'
      ? { id: 'union', label: 'union mounted', pattern: /ltsp-union: mounted /, budgetS: budget(60, 10), floorS: 5 }
      : { id: 'union', label: 'union off (read-only root)', pattern: /ltsp-union: off/, budgetS: budget(60, 10), floorS: 5 },
    // systemd's initramfs (stock) starts its unit; dracut's shell init (ltsp) says so by info() on /dev/kmsg.
    { id: 'switch-root', label: 'switch_root', pattern: /Starting initrd-switch-root\.service|Switching root\.|dracut: Switching root$/, budgetS: budget(60, 10), floorS: 5 },
    { id: 'system', label: 'system up', pattern: /^Welcome to (?!.*\(Initramfs\)).*!/, budgetS: budget(60, 10), floorS: 5 },
    { id: 'login', label: 'login prompt', pattern: /login: root \(automatic login\)|^\S+ login:\s*$/, budgetS: budget(180, 40), floorS: 10 },
  ];
}

/**
 * LTSP 23's chain (docs/ltsp23-lane.md): the stages both stacks have keep their ids and
 * their lines (iPXE, DHCP, the fetch, the kernel, the initramfs, NBD, system up, login);
 * the rest are LTSP's own. initramfs-tools prints "Begin: ... done." around each of its
 * steps (scripts/functions log_begin_msg): the root is mounted when the local-bottom
 * scripts start (scripts/local, after its mount of ROOT); LTSP's init-bottom hook, run
 * first there, says "Running /usr/sbin/ltsp initrd-bottom" before it lays the overlay
 * (55-initrd-bottom.sh) and the init-bottom scripts end with "done.".
 */
function ltsp23Stages(): StageDef[] {
  const k12 = new Map(k12Stages({}).map((s) => [s.id, s]));
  const shared = (id: BootStageId): StageDef => k12.get(id) as StageDef;
  return [
    shared('ipxe'),
    shared('dhcp'),
    shared('fetched'),
    shared('kernel'),
    shared('initramfs'),
    // nbd-client's netlink setup makes the kernel say the same as on the k12 stack.
    shared('nbd'),
    { id: 'root', label: 'root mounted', pattern: LTSP23_LINES.rootMounted, budgetS: budget(60, 10), floorS: 5 },
    { id: 'ltsp-overlay', label: "LTSP's initrd-bottom (overlay)", pattern: LTSP23_LINES.initrdBottom, budgetS: budget(60, 10), floorS: 5 },
    { id: 'ltsp-init', label: 'ltsp init ran', pattern: LTSP23_LINES.ltspInit, budgetS: budget(90, 15), floorS: 5 },
    shared('system'),
    shared('login'),
  ];
}

/**
 * The ltsp23 stack's own console lines, from its boots (fixtures/consoles/console-ltsp23.log,
 * followed whole in follow-stages.test.ts): initramfs-tools' "Begin: Running
 * /scripts/local-bottom" once scripts/local mounted the root, LTSP's "Running
 * /sbin/ltsp initrd-bottom" (warn "Running $0" in 55-initrd-bottom.sh) before it lays
 * the overlay, systemd's banner once `ltsp init` execs it, klibc ipconfig's lease line.
 */
export const LTSP23_LINES = {
  rootMounted: /Begin: Running \/scripts\/local-bottom/,
  initrdBottom: /Running \S*ltsp initrd-bottom/,
  ltspInit: /systemd \d+(?:\.[\w~+-]+)* running in system mode/,
  initramfsDhcp: /IP-Config: \S+ complete/,
};

/**
 * The points inside the long spans (issue 20: initramfs start to NBD connected, system up
 * to login), in the order a boot usually shows them. The stock client's lines are from
 * its console (fixtures/consoles); its systemd initramfs says nothing when nbd-client
 * starts, so that point is the dracut initqueue that runs it. The ltsp client's shell
 * initramfs prints its own (from a boot of the images helper's first ltsp initramfs):
 * udevd's start, the NIC's rename, nbd-client's "Negotiation:" line.
 */
export function bootPoints(_client: ClientSpec): PointDef[] {
  return [
    { id: 'initrd-unpacked', stage: 'initramfs', label: 'initramfs unpacked', pattern: /Freeing initrd memory/ },
    // The ltsp client's shell init starts udevd itself ("Starting systemd-udevd version 252"); the stock client's systemd starts its unit.
    { id: 'udevd', stage: 'nbd', label: 'udevd started', pattern: /Starting systemd-udevd[ .]/ },
    { id: 'udev-coldplug', stage: 'nbd', label: 'udev coldplug done', pattern: /Finished systemd-udev-trig/ },
    { id: 'link-up', stage: 'nbd', label: 'link up (lab0)', pattern: /\blab0: (?:renamed from eth\d|[Ll]ink (?:is )?[Uu]p|link becomes ready)|ADDRCONF\(NETDEV_CHANGE\): lab0/ },
    { id: 'nbd-client', stage: 'nbd', label: 'nbd-client started', pattern: /Starting dracut-initqueue|\bnbd-client\b.*(?:start|connect)/i },
    // nbd-client's own line once its handshake is done (the shell init lets it reach the console; systemd's journal keeps it).
    // The ltsp23 stack's initramfs-tools asks DHCP itself before nbd-client runs (klibc's ipconfig).
    { id: 'initramfs-dhcp', stage: 'nbd', label: 'initramfs DHCP lease', pattern: LTSP23_LINES.initramfsDhcp },
    { id: 'nbd-negotiated', stage: 'nbd', label: 'NBD handshake done', pattern: /^Negotiation: / },
    { id: 'union-start', stage: 'union', label: 'ltsp-union started', pattern: /ltsp-union: start / },
    { id: 'first-unit', stage: 'login', label: 'first unit after switch_root', pattern: /^\[\s*OK\s*\] |systemd\[1\]: (?:Started|Created|Reached|Mounted|Finished|Listening|Set up) / },
    { id: 'basic-target', stage: 'login', label: 'basic.target', pattern: /Reached target basic\.target|Reached target Basic System/ },
    { id: 'getty', stage: 'login', label: 'getty started', pattern: /Started (?:serial-)?getty@|Started .*Serial Getty/ },
  ];
}

/**
 * The same kernel, initramfs and root booted by bare QEMU: -kernel/-initrd and
 * root=/dev/vda on a local read-only virtio disk. No firmware menu, no PXE, no NBD:
 * the limit the lab's chain is measured against (./lab bench, case chain).
 */
export function bareBootStages(opts: StageOptions = {}): StageDef[] {
  const pxe = new Map(bootStages(opts).map((s) => [s.id, s]));
  const reuse = (id: BootStageId): StageDef => pxe.get(id) as StageDef;
  return [
    // From QEMU start: SeaBIOS loads the kernel from fw_cfg itself.
    { ...reuse('kernel'), budgetS: budget(60, 15) },
    reuse('initramfs'),
    // udev has to find the disk first; NBD's budget, since nothing is slower locally.
    { id: 'root', label: 'root mounted', pattern: /EXT4-fs \(vda\): mounted|Mounted sysroot\.mount/, budgetS: budget(150, 30), floorS: 5 },
    reuse('union'),
    reuse('switch-root'),
    reuse('system'),
    reuse('login'),
  ];
}

/**
 * dracut's emergency shell, reached by a kept client whose initramfs failed (rd.shell,
 * see RESCUE_ARGS): in the systemd initramfs dracut-emergency runs `sulogin -e`, which
 * asks for Enter (the initramfs's root has no password) or a password; the shell
 * initramfs starts its shell at once. Counted from the boot's failure:
 * dracut gives up RESCUE_RETRY_S of initqueue loops after it started (1.5x that of
 * TCG measured here), so three times that, and what a KVM guest needs as a floor.
 */
export const RESCUE_SHELL: StageDef = {
  id: 'rescue',
  label: "dracut's emergency shell",
  // sulogin's words in the systemd initramfs (stock); the shell initramfs (ltsp) has no
  // sulogin: dracut-lib.sh's _emergency_shell says "Dropping to debug shell." and starts sh.
  pattern: /Press Enter for maintenance|Give root password for maintenance|Dropping to debug shell\./,
  budgetS: budget(RESCUE_RETRY_S * 3, RESCUE_RETRY_S * 2),
  floorS: RESCUE_RETRY_S + 15,
};

/**
 * The prompt of dracut's emergency shell. dracut means it to be "dracut:${PWD}# " (the PS1
 * its _emergency_shell writes to /etc/profile), but the shell `sulogin -e` starts here
 * prompts bash's default for sh, "sh-5.2# " (seen on this stack's console).
 */
export const RESCUE_PROMPT = /^(?:dracut:[^#\n]*|sh-\d+(?:\.\d+)*)# ?$/;

/**
 * The root shell the lab image logs in to on ttyS0. A kernel message printed while the
 * shell waits lands on the prompt's line ("root@c1:~# [   28.57] block nbd0: ..."):
 * the prompt is there all the same.
 */
export const SHELL_PROMPT = /root@[\w.-]+:[^#\n]*# ?(?:\[\s*\d+\.\d+\] .*)?$/;

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
  { name: 'test-delay-refused', pattern: /ltsp-test: FAILED/ },
  // The ltsp initramfs's own check (90ltsp-union's ltsp-check.sh): a tool or kernel feature
  // the chain needs is missing, named with the stage it would stop.
  { name: 'ltsp-missing', pattern: /ltsp-lab: missing .*: stage \S+ cannot run/ },
  // In the systemd initramfs nbd-client's messages carry dracut-initqueue's name, e.g.
  // "dracut-initqueue[396]: Error: Socket failed: Connection refused".
  { name: 'nbd-client-error', pattern: /dracut-initqueue\[\d+\]: Error: / },
  // The ltsp23 stack's initramfs-tools: it gave up on the root, or dropped to its busybox shell.
  { name: 'initramfs-tools-no-root', pattern: /Gave up waiting for .* device|Something went badly wrong in the initramfs|^\(initramfs\) ?$/ },
];

/**
 * The user's session is up: the shell the login started prints its prompt, bash's
 * `USER@HOST:DIR$ ` from the user's ~/.bashrc (Debian's /etc/skel; the server's home on
 * both stacks), HOST being the client (pamltsp: the session runs there) or the server
 * (the k12 stack's SSH session). Stamped after the login prompt by StartedThinClient.logIn,
 * counted from the login being typed. A user name is `[a-z_][a-z0-9_-]*` (lab-users).
 */
export function sessionStage(user: string): StageDef {
  return {
    id: SESSION_STAGE_ID,
    label: 'session up',
    pattern: new RegExp(`^${user}@[\\w.-]+:[^$#\\n]*\\$ ?(?:\\[\\s*\\d+\\.\\d+\\] .*)?$`),
    budgetS: budget(90, 20),
    floorS: 10,
  };
}

import { RESCUE_ARGS, RESCUE_RETRY_S } from '../harness/index';
import { ATTACH_USAGE } from './attach';
import { BUILD_USAGE } from './build';
import { LS_USAGE } from './ls';
import { STOP_USAGE } from './stop';

/*
 * `./lab COMMAND --help` for the commands that do not print their own (bench, baseline
 * and report do). Printed without installing or starting anything (see ./lab).
 */

export const BOOT_USAGE = `./lab boot [--clients N] [--memory MB] [--append "ARGS"] [--no-union] [--export NAME]
           [--nic MODEL] [--mac MAC]... [--keep] [--json] [--report DIR] [--compare [--retries K]]
           [--fault KIND[:ARG][@WHEN]]...

Builds or reuses the images (checking the cache, see ./lab build --help), starts the
LTSP server and N thin clients, prints each client's boot timeline and the report
folder, and tears everything down (with --keep: once stopped). Exit 0 ok, 2 usage, 3 set-up problem (no Docker, a
damaged cache that cannot be rebuilt, a full report disk), 4 the stack under test
failed, 5 the harness broke (Docker dying mid-run included), 6 slower than the baseline.

  --clients N      clients booting at once (1-8, default 1)
  --memory MB      each client's RAM (128-8192, default 384)
  --append "ARGS"  extra kernel arguments
  --no-union       boot the read-only NBD root without the unionfs-fuse overlay
  --export NAME    the NBD export to ask for (default root)
  --nic MODEL      virtio-net-pci (default), e1000 or rtl8139
  --mac MAC        a client's MAC, once per client
  --keep           leave the lab up, whether the boots pass or fail, until Ctrl-C or
                   ./lab stop RUN: each client's console is served from power-on
                   (./lab attach RUN CLIENT, printed per client; ./lab ls lists the run),
                   and the kernel gets ${RESCUE_ARGS.join(' ')}, so a client that fails
                   in the initramfs is at dracut's emergency shell in about 1.5x
                   ${RESCUE_RETRY_S} s of TCG (dracut's default: 180 s); an --export the
                   server lacks boots too
  --json           the timeline as JSON on stdout
  --report DIR     the report folder (default reports/boot-<run>/)
  --compare        judge the boot against the baseline (see ./lab baseline --help)
  --retries K      with --compare: boot again up to K times before calling a regression
  --fault F        apply a field fault during the boot, then report on the timeline when it
                   struck and whether each client recovered, and in how long (exit 4 when
                   one did not); repeatable. F is KIND[:ARG][@WHEN]:
                     nbd-restart        /etc/init.d/nbd-server restart in the server
                     nbd-stop:SECONDS   nbd-server stopped by its init script, started after SECONDS
                     link-down:SECONDS  the client's NIC link off (QMP set_link), on after SECONDS
                     loss:PCT           PCT % of the client's frames dropped, both ways
                     delay:MS           the client's frames held up to MS (QEMU filter-buffer)
                     http-stop          the server's HTTP (kernel and initramfs) stops
                     tftp-stop          the server's TFTP stops (DHCP goes on)
                     server-kill        the server container is killed
                   WHEN: a stage (ipxe dhcp fetched kernel initramfs nbd root union
                   switch-root system login) or start, optionally +SECONDS after it
                   (@login+10). Default: loss and delay @start (the whole boot), the
                   rest @login. A client is judged recovered once, with its page cache
                   dropped, it reads a root file and writes to its union.
`;

export const CLEAN_USAGE = `./lab clean [--all]

Reaps what dead runs left behind: QEMU process groups, containers (a dead image
build's too), networks with their bridge, taps and iptables rules (a fault's loss
rules too), state folders, and the temp folders of dead image builds in the cache. Runs whose owner still lives are
left alone.

  --all   reap live runs too (never the caller's own)
`;

const ACCEL_USAGE = `./lab accel [--json]

Which accelerator the lab uses on this host (KVM or TCG) and why, probing KVM with the
lab's own kernel when this host boot's verdict is not cached yet.
`;

export const USAGES: Readonly<Record<string, string>> = { boot: BOOT_USAGE, build: BUILD_USAGE, clean: CLEAN_USAGE, accel: ACCEL_USAGE, ls: LS_USAGE, attach: ATTACH_USAGE, stop: STOP_USAGE };

/** --help or -h among a command's arguments. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

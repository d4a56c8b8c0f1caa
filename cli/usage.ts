import { MATRIX_USAGE } from './matrix';
import { CLIENT_MEMORY_MB, describeClientValues, describeNbdServers, RESCUE_ARGS, RESCUE_RETRY_S, ROOT_EXPORT } from '../harness/index';
import { ATTACH_USAGE } from './attach';
import { BASELINE_USAGE } from './baseline';
import { BENCH_USAGE } from './bench';
import { STORM_USAGE } from './storm';
import { BISECT_USAGE } from './bisect';
import { BUILD_USAGE } from './build';
import { LS_USAGE } from './ls';
import { REPORT_USAGE } from './report';
import { STOP_USAGE } from './stop';

/*
 * `./lab COMMAND --help` and `./lab help COMMAND` (cli/program.ts). Printed without
 * installing or starting anything (see ./lab).
 */

export const BOOT_USAGE = `./lab boot [--clients N] [--client KIND]... [--stack k12|ltsp23] [--memory MB] [--append "ARGS"] [--no-union] [--export NAME]
           [--nic MODEL] [--mac MAC]... [--keep] [--json] [--report DIR] [--compare [--retries K]]
           [--fault KIND[:ARG][@WHEN]]... [--root-arg "ARGS"] [--root-path PATH]
           [--server-init entrypoint|systemd|sysvinit] [--nbd-server V] [--nbd-client V]

Builds or reuses the images (checking the cache, see ./lab build --help), starts the
LTSP server and N thin clients, prints each client's boot timeline and the report
folder, and tears everything down (with --keep: once stopped). Exit 0 ok, 2 usage, 3 set-up problem (no Docker, a
damaged cache that cannot be rebuilt, a full report disk), 4 the stack under test
failed, 5 the harness broke (Docker dying mid-run included), 6 slower than the baseline.

  --clients N      clients booting at once (1-8, default 1)
  --client KIND    what the clients boot: once for all of them, or once per client in
                   order (--clients 2 --client ltsp --client stock); the run's first line
                   names each client's kind:
${describeClientValues('kind', '                     ')}
  --nbd-client V   the nbd-client in every client's initramfs (docs/nbd-grid.md):
${describeClientValues('nbdClient', '                     ')}
  --nbd-server V   the nbd-server the server runs; oldstyle boots root=nbd:SERVER:2000:
${describeNbdServers('                     ')}
  --stack STACK    whose chain the clients boot (docs/ltsp23-lane.md); with ltsp23 the k12
                   stack's options (--client ltsp, --no-union, --export, --root-arg,
                   --root-path, --nbd-server, --nbd-client) are refused:
${describeClientValues('stack', '                     ')}
  --memory MB      each client's RAM (${CLIENT_MEMORY_MB.min}-${CLIENT_MEMORY_MB.max}, default ${CLIENT_MEMORY_MB.default})
  --append "ARGS"  extra kernel arguments
  --no-union       boot the read-only NBD root without the unionfs-fuse overlay
  --export NAME    the NBD export to ask for (default ${ROOT_EXPORT})
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
  --root-arg "ARGS"
                   the root argument(s) in place of the lab's root=nbd:{server}:{export}:ext4:ro;
                   {server} is the server's address, {export} the --export name. Any form
                   of dracut.cmdline(7): root=nbd:SERVER:PORT|NAME[:FSTYPE[:OPTS[:NBDOPTS]]],
                   netroot=nbd:... with root=LABEL=ltsp-root, root=dhcp or netroot=dhcp
  --root-path PATH the DHCP root-path dnsmasq sends the initramfs (not iPXE), e.g.
                   nbd:{server}:{export}:ext4:ro; the initramfs then runs its own DHCP
                   (ip=lab0:dhcp). Without --root-arg: root=/dev/root netroot=dhcp
  --fault F        apply a field fault during the boot, then report on the timeline when it
                   struck and whether each client recovered, and in how long (exit 4 when
                   one did not); repeatable. F is KIND[:ARG][@WHEN]:
                     nbd-restart        nbd-server restarted through the server's init (its
                                        init script, systemctl or service)
                     nbd-stop:SECONDS   nbd-server stopped through the init, started after SECONDS
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
  --server-init I  what runs as PID 1 in the server container: entrypoint (default; our
                   bash supervisor), systemd (nbd-server.service, ltsp-dnsmasq.service,
                   ltsp-httpd.service; needs the host's hybrid cgroup v1+v2 layout)
                   or sysvinit (the LSB scripts in runlevel 3, driven by service(8)).
                   Faults and ltsp-server-ctl act through that init.
`;

export const CLEAN_USAGE = `./lab clean [--all]

Reaps what dead runs left behind: QEMU process groups, containers (a dead image
build's too), networks with their bridge, taps and iptables rules (a fault's loss
rules too), state folders, and the temp folders of dead image builds in the cache.
Runs whose owner still lives are left alone, whichever state folder they use: a tap or
rule goes with its network's owner, and one whose owner nothing says is left alone.
Only what the lab made is removed: a run folder carries the lab's marker
(ltsp-lab-run), and a state folder ($LTSP_LAB_STATE) that holds anything else is
refused (exit 3) before anything is removed.

  --all   reap live runs too (never the caller's own)
`;

export const TEST_USAGE = `./lab test [--tier smoke|full] [--grep PATTERN] [--shard I/N] [--no-checks]

Type-checks (tsc --noEmit), lints (eslint, shellcheck), runs the unit tests (no Docker,
no QEMU), then the end-to-end scenarios (scenarios/**/*.e2e.ts), and writes the run's
report to reports/test-<date>/ (results.json, junit.xml, index.html). Exit 0 when all
passed, 1 when a check or test failed, 2 usage, 3 set-up problem.

  --tier TIER      smoke: the checks, the unit tests and the end-to-end tests tagged
                   @smoke (a few boots: the chain, two clients, stateless, read-only, one
                   fault, the report page, bad input; about 5 min here); full (the
                   default): every end-to-end test. Each test declares its tier in its
                   title or a describe's (@smoke or @full); a test of none fails the run
  --grep PATTERN   run only the tests whose full title matches PATTERN (a regular
                   expression, as mocha's --grep), unit and end-to-end (within the tier)
  --shard I/N      run shard I of N of the end-to-end files, on one of N runners. The
                   files are split by their recorded times (fixtures/test-durations.json;
                   a file not in it weighs as the median one), longest first to the least
                   loaded shard, the same on every runner. Shard 1 also runs the checks
                   and unit tests (their time is counted in its share); the others skip
                   them. Merge the shards' run folders with ./lab report --merge DIR...
  --no-checks      skip the type-check, lint and unit tests: only the end-to-end scenarios

Environment: LTSP_LAB_TEST_RUN (the run folder's name, default test-<date>),
LTSP_LAB_REPORTS (where reports go, default reports/), LTSP_LAB_TEST_DURATIONS (another
record to split by, default fixtures/test-durations.json). After a whole run,
./lab report RUN --record-durations writes its files' times to fixtures/test-durations.json.
`;

const ACCEL_USAGE = `./lab accel [--json]

Which accelerator the lab uses on this host (KVM or TCG) and why, probing KVM with the
lab's own kernel when this host boot's verdict is not cached yet.
`;

export const SETUP_USAGE = `./lab setup

Installs what is missing (Debian packages, npm modules) and starts Docker, then stops.
Every other command does this first too.
`;

export const USAGES = {
  boot: BOOT_USAGE,
  build: BUILD_USAGE,
  clean: CLEAN_USAGE,
  accel: ACCEL_USAGE,
  bench: BENCH_USAGE,
  storm: STORM_USAGE,
  baseline: BASELINE_USAGE,
  report: REPORT_USAGE,
  bisect: BISECT_USAGE,
  matrix: MATRIX_USAGE,
  test: TEST_USAGE,
  setup: SETUP_USAGE,
  ls: LS_USAGE,
  attach: ATTACH_USAGE,
  stop: STOP_USAGE,
} as const satisfies Readonly<Record<string, string>>;

/** --help or -h among a command's arguments. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

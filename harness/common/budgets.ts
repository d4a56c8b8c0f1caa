import { hostSpeed, type Accel } from './speed';

/**
 * The one table of how long a step may take. A boot stage's budget lives beside its
 * pattern (boot/stages.ts); everything else that waits takes its limit from here, and
 * every scaled limit goes through `scaledMs`, the one speed-and-contention rule.
 *
 * - `s`: seconds, per accelerator where the step runs guest code (TCG is 10-50x slower
 *   than KVM), written for the reference host (2 cores, speed factor 1);
 * - `scaled`: whether the host speed factor (and the clients' contention) stretches it;
 *   a step that waits on Docker, a network call or the kernel of this host is wall time;
 * - `floorS`: what no speed factor may shrink it below (firmware and DHCP wait in
 *   wall-clock seconds whatever the accelerator).
 */
export interface Budget {
  s: Readonly<Record<Accel, number>> | number;
  scaled: boolean;
  floorS?: number;
}

const both = (tcg: number, kvm: number): Readonly<Record<Accel, number>> => ({ tcg, kvm });

export const STEP_BUDGETS = {
  /** vm-images/build.sh from an empty cache (about 3.5 min here), with room for a slow mirror. */
  imageBuild: { s: 45 * 60, scaled: false },
  /** One cell of ./lab matrix nbd: a ./lab boot with nbd-restart@login, a new nbd version's image build included. */
  gridCell: { s: 60 * 60, scaled: false },
  /** A whole lab start: the image build, the network, the server. */
  labStart: { s: 45 * 60, scaled: false },
  /** A lab start on a warm cache, around a boot: the build check, the network, the server (./lab boot as a whole). */
  labStartWarm: { s: 300, scaled: false },
  /** The LTSP server container until dnsmasq, httpd and nbd-server answer. */
  serverReady: { s: both(60, 30), scaled: true, floorS: 20 },
  /** A client from its builder to a running QEMU with QMP connected (tap, spawn, QMP). */
  clientStart: { s: both(60, 30), scaled: true, floorS: 15 },
  /** The gate's guest speed: two probe boots of the lab kernel to /init (harness/gate/guest-speed.ts). */
  guestSpeed: { s: both(90, 20), scaled: true, floorS: 20 },
  /** One command typed at a booted client's root prompt. */
  shellCommand: { s: both(60, 15), scaled: true, floorS: 10 },
  /** One load of ./lab bench --case union in the guest (all of /usr read through the union and NBD, cache dropped): minutes of TCG. */
  benchLoad: { s: both(900, 120), scaled: true, floorS: 120 },
  /**
   * After a user's logout (./lab boot --login, scenarios/login.e2e.ts): until its
   * processes and its home's SSHFS mount are gone on the client and the server. pamltsp
   * unmounts from a scope that looks once a second for the user's last process.
   */
  logoutCleanup: { s: both(60, 15), scaled: true, floorS: 10 },
  /** QMP system_reset and its reply. */
  reset: { s: 10, scaled: false },
  /** Listing the server's NBD exports from the host. */
  listExports: { s: 30, scaled: false },
  /** One polled look at the lab (bridge, server container) under a boot. */
  labWatch: { s: 10, scaled: false },
  /** Console logs written out to disk before the run report reads them. */
  logSync: { s: 5, scaled: false },
  /** Removing a tap, a network, a container: teardown runs even when the run is out of time. */
  teardown: { s: 30, scaled: false },
  /**
   * A SIGINT or SIGTERM during a lab's start-up, to the exit: the step in flight (a docker
   * call, the server's start, the accelerator probe) ends, and what the start made is removed.
   */
  startStop: { s: 60, scaled: false },
  /** `./lab stop`: a kept run's owner tearing its lab down (each client's shutdown ladder, the server, the network). */
  stopKept: { s: 120, scaled: false },
  /** QMP quit before SIGTERM (the shutdown ladder's first rung). */
  qmpQuit: { s: 5, scaled: false },
  /**
   * `./lab test`'s guestless lane (harness/shard/lanes.ts), from the run's start: the checks
   * and the files that boot nothing, about 3 min here; what a file that needs the host to
   * itself may wait for it.
   */
  otherLane: { s: 20 * 60, scaled: false },
  /** `./lab clean`: every docker, ip and iptables call of a reap. */
  reap: { s: 120, scaled: false },
  /** One fault step on the server or a client (an init script's restart, set_link, an iptables rule, docker kill). */
  faultStep: { s: 30, scaled: false },
  /**
   * A client's recovery after a fault ends: probes until one reads the root and writes
   * the union. Above the kernel's 30 s dead-connection wait of a persistent nbd-client.
   */
  faultRecovery: { s: both(120, 60), scaled: true, floorS: 60 },
  /** One recovery probe of a client whose kernel already shut its NBD device down (nothing brings it back). */
  faultProbeGone: { s: both(15, 5), scaled: true, floorS: 5 },
  /** ./lab storm: every replayed client of a storm to its last reply (harness/storm); what is unfinished then is an error of its request. */
  stormReplay: { s: 600, scaled: false },
  /** The accelerator probe: a whole decision, KVM and (when KVM looks slow) TCG. */
  accelProbe: { s: 40, scaled: false },
  /** The probe's first mark under KVM: "Linux version" (harness/accel/accel-choice.ts). */
  accelProbeKernel: { s: 5, scaled: false },
  /** Its second mark under KVM: "Run /init", after the first. */
  accelProbeInit: { s: 10, scaled: false },
  /** An NBD peer's close(): the server hanging up after NBD_CMD_DISC / NBD_OPT_ABORT. */
  nbdHangUp: { s: 1, scaled: false },
  /** Removing the dead runs' leftovers as a lab starts (the reap before its own network). */
  reapAtStart: { s: 60, scaled: false },
  /** The server's init log read out of a container being stopped, for the run's server.log. */
  serverInitLog: { s: 5, scaled: false },
  /** `docker stop`'s grace for the server container before Docker kills it. */
  serverStopGrace: { s: 5, scaled: false },
  /** A process group after SIGTERM before SIGKILL, where nothing in it has state to save (a probe's QEMU, a build being abandoned). */
  killGrace: { s: 2, scaled: false },
  /** A timed bench command abandoned at its deadline: time to clean up (a docker build's containers) before SIGKILL. */
  timedCommandGrace: { s: 30, scaled: false },
  /** A program in a pseudo-terminal to exit after its hang-up, and again after SIGKILL. */
  terminalExit: { s: 5, scaled: false },
  /** Connecting to a kept client's console socket (./lab attach): its scrollback shown; and leaving it on Ctrl-] q. */
  consoleConnect: { s: 10, scaled: false },
  /** A server fault's wait for a client's NBD request to be in flight before it holds the server. */
  faultHoldWait: { s: 10, scaled: false },
  /** `docker ps` of the lab's servers, by the gate's host sampler. */
  dockerPs: { s: 5, scaled: false },
  /** `docker stats` of the server container (the bench memory case). */
  dockerStats: { s: 30, scaled: false },
  /** `vm-images/build.sh --keys`: hashing the recipes. */
  imageKeys: { s: 60, scaled: false },
  /** ./lab bisect: a revision's vm-images/ taken out of git, and its image keys. */
  revisionImages: { s: 120, scaled: false },
  /** ./lab bisect: reading the git history of vm-images/. */
  gitHistory: { s: 60, scaled: false },
  /** `git describe` of the source a run was made from. */
  gitDescribe: { s: 10, scaled: false },
  /** The bench images case: copying vm-images/ for a cold build. */
  copyRecipes: { s: 60, scaled: false },
  /** The bench images case: removing a cold build's artefacts and images again. */
  removeColdBuild: { s: 300, scaled: false },

  // What the scenarios (scenarios/) wait for beyond the harness's own steps; they read these
  // through hostBudgetMs. A step that runs guest code is scaled, with its floor at its
  // reference seconds: a fast host keeps the limit a slower one would stretch.

  /** A short command on this host that a scenario runs or polls for (docker inspect, pause or kill, ip, iptables, mount, git), or a host process to appear or go. */
  hostCommand: { s: 60, scaled: false },
  /** Copying, hashing or checking the lab's image files on this host (cp -al of a cache, sha256 or gzip -t of an image, a copy into the server). */
  hostFiles: { s: 120, scaled: false },
  /** One scenario test's docker and network round trips against a started server; generous, as the host may be busy booting clients. */
  serverCheck: { s: 120, scaled: false },
  /** A ./lab command that boots nothing (help, ls, report, attach, stop of no kept run, a usage or set-up error), node's start included. */
  labCommand: { s: 120, scaled: false },
  /** `./lab setup`: the host's tools checked and dockerd started (after a kill, once dockerd has cleaned up). */
  labSetup: { s: 300, scaled: false },
  /** A ./lab boot from its start to a point of its first client's boot (iPXE, its kernel, a stage, its console log begun). */
  labBootPoint: { s: 300, scaled: true, floorS: 300 },
  /** A whole ./lab boot a scenario runs: a warm lab start, one or two clients to login (or to their failure), the report, the teardown. */
  labBoot: { s: 600, scaled: true, floorS: 600 },
  /** `./lab baseline --update`: a baseline's recorded boots. */
  baselineRecord: { s: 20 * 60, scaled: true, floorS: 20 * 60 },
  /** `./lab bisect` over the bisect scenario's planted history: an initramfs and a boot for each revision it judges. */
  bisectRun: { s: 600, scaled: true, floorS: 600 },
  /** `./lab matrix nbd` over the grid scenario's servers and clients, a cell at a time (see gridCell). */
  gridRun: { s: 90 * 60, scaled: false },
  /** A nested `./lab test --no-checks` of a few cheap tests (the sharding scenario): its mocha, nyc and a chromium, about 30 s here. */
  nestedTest: { s: 300, scaled: true, floorS: 300 },
  /** A probe typed at a booted client's shell, with host commands around it (several connects at once, each bounded by its own `timeout 4`). */
  guestProbe: { s: 60, scaled: true, floorS: 60 },
  /** vm-images/build.sh stopping at a broken recipe file before any work. */
  buildRefused: { s: 60, scaled: false },
  /** vm-images/build.sh failing at the first step that works (debootstrap against a mirror where nothing listens, a disk too small). */
  buildStepFails: { s: 180, scaled: false },
  /** vm-images/build.sh with its docker images cached, to a step it works at (the root export, dracut). */
  buildStepStart: { s: 120, scaled: false },
  /** The server image's docker build to its apt-get (vm-images/build.sh's server step). */
  serverImageBuild: { s: 15 * 60, scaled: false },
  /** vm-images/build.sh on a warm cache (every artefact cached), a few seconds' wait for its lock included. */
  warmBuild: { s: 120, scaled: false },
  /** vm-images/build.sh or ./lab build healing a damaged artefact of a warm cache (the kernel taken again, the initramfs or the root rebuilt). */
  buildRepair: { s: 600, scaled: false },
  /** Chromium's start, for a scenario that reads a report page. */
  browserStart: { s: 60, scaled: false },
  /** A wait a scenario means to run out (a console pattern that never comes): it proves the timeout's error, so it is short. */
  expectedTimeout: { s: 3, scaled: false },
} as const satisfies Record<string, Budget>;

export type StepKind = keyof typeof STEP_BUDGETS;

/** What scaling needs of the host: its accelerator and measured speed factor. */
export interface ScaleBasis {
  accel: Accel;
  factor: number;
}

/**
 * The one rule: seconds for this accelerator × the host speed factor × the contention
 * of clients sharing the cores, never below the floor. Unscaled budgets are wall time.
 */
export function scaledMs(budget: Budget, basis?: ScaleBasis, contention = 1): number {
  const base = typeof budget.s === 'number' ? budget.s : budget.s[basis?.accel ?? 'tcg'];
  const s = budget.scaled && basis ? base * basis.factor * contention : base;
  return Math.max(budget.floorS ?? 0, s) * 1000;
}

/**
 * What scaling knows before a lab has chosen its accelerator (a scenario's own waits, a
 * ./lab it runs): TCG's seconds, the longer, at this host's calibrated speed.
 */
export function hostBasis(env: NodeJS.ProcessEnv = process.env): ScaleBasis {
  return { accel: 'tcg', factor: hostSpeed({ accel: 'tcg', reason: 'assumed for a budget' }, env).factor };
}

/** The limit of a step kind on this host, before any lab has measured it: for scenarios and mocha's this.timeout. */
export function hostBudgetMs(kind: StepKind, contention = 1): number {
  return budgetMs(kind, hostBasis(), contention);
}

/** The limit of a step kind on this host, in ms. */
export function budgetMs(kind: StepKind, basis?: ScaleBasis, contention = 1): number {
  return scaledMs(STEP_BUDGETS[kind], basis, contention);
}

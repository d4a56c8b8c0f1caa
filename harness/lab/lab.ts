
import { join } from 'node:path';
import { REPORTS_ROOT } from '../common/paths';
import { Deadline } from '../common/deadline';
import { log } from '../common/log';
import { reap } from './reaper';
import { describeLeftovers, runLeftovers } from './run-leftovers';
import { DOCKER_GONE_HINT, dockerSilence } from '../common/docker-daemon';
import { checkFreeSpace, checkWritableDir, ensureWritableDir } from '../common/writable-dir';
import { checkStateRoot } from '../common/state-root';
import { contentionFactor } from '../common/host-resources';
import { HarnessError, SetupError, SutError } from '../common/errors';
import { execCommand } from '../common/exec';
import { NbdPeer } from '../nbd/nbd-peer';
import type { LabWatch } from '../boot/thin-client';
import type { LoginServer } from '../boot/console-login';
import { stepDeadline } from '../common/run-deadline';
import { teardownSignal, trackStoppable } from '../common/teardown';
import { RunContext } from '../common/run-context';
import { calibrateCpu, type HostSpeed } from '../common/speed';
import { decideHostSpeed } from '../accel/accel-choice';
import { budgetMs } from '../common/budgets';
import { checkExport, ThinClient, type ClientHost, type StartedThinClient } from '../boot/thin-client';
import { checkServedImages, ensureImages, ltsp23Images, servedImages, specImages, VM_IMAGES_DIR, type ImageManifest } from '../images/image-set';
import { CLIENT_DIMENSIONS, DEFAULT_CLIENT_SPEC, type ClientSpec } from '../client/client-spec';
import { NBD_SERVER_DIMENSION, type NbdServerVersion } from '../server/nbd-server-version';
import { LabNetwork, type StartedLabNetwork } from '../network/lab-network';
import type { ServedImages, ServerFile, StartedLtspServer } from '../server/ltsp-server';
import { writeDefaultScript } from '../server/client-scripts';
import { ROOT_EXPORT } from '../server/boot-files';
import { serverExports } from '../server/nbd-exports';
import { describeHeld, PAUSED, readHeldFacts } from '../server/held-server';
import { clientScript, expandRootTemplate, kernelArgs, ltsp23KernelArgs, validateRootPath } from '../boot/kernel-args';
import { checkHostSupports, type ServerInit } from '../server/server-init';

const debug = log('lab');

export { REPORTS_ROOT };

/** What a run's report folder must have free at start: console, QMP and server logs, the report (a boot writes well under 1 MiB). */
const REPORT_MIN_FREE_MIB = 16;

export interface LabStartOptions {
  deadline?: Deadline;
  /** Progress of long steps (image build), one line at a time. */
  onProgress?: (line: string) => void;
  /**
   * Starts clients while the server container starts, as real thin clients do not wait
   * for their server: QEMU's firmware spends ~2 s before its first DHCP request, and the
   * server's start (~1.5 s, most of it Docker's) runs beside it instead of before it.
   * Called once the network and the images are ready; the clients' export names are
   * checked once the server lists its exports. If the server does not come up, the
   * clients are stopped with the lab.
   */
  whileServerStarts?: (lab: StartedLab) => Promise<void>;
}

/**
 * A whole lab: the images, an internal network, the LTSP server on it. Clients are
 * added to the started lab. Builder; `start()` returns a StartedLab.
 *
 *   await using lab = await new Lab().withReportDir(dir).start();
 *   const c1 = await lab.client('c1').start(deadline);
 */
export class Lab {
  private reportDir?: string;
  private images?: Partial<ServedImages>;
  private run = new RunContext();
  private configureNetwork: (network: LabNetwork) => LabNetwork = (n) => n;
  private serverEnv: Record<string, string> = {};
  private serverFiles: ServerFile[] = [];
  private vmImagesDir?: string;
  private ownKindOnly = false;
  private serverInit: ServerInit = 'entrypoint';
  private defaultClient: ClientSpec = DEFAULT_CLIENT_SPEC;
  private nbdServer: NbdServerVersion = NBD_SERVER_DIMENSION.default;

  withReportDir(dir: string): this {
    this.reportDir = dir;
    return this;
  }

  /**
   * What the lab's clients boot unless their builder says otherwise (ThinClient.boots):
   * also the kernel the accelerator probe boots, and the script of a client the lab wrote
   * none for. Default DEFAULT_CLIENT_SPEC (ltsp). The lab serves every kind the image set
   * has; its start fails (SetupError) when the image set lacks this one.
   */
  withClient(spec: ClientSpec): this {
    this.defaultClient = spec;
    return this;
  }

  /** Serve these instead of what vm-images/build.sh makes (any field may be left out; kernel and initrd are the default client kind's). */
  withImages(images: Partial<Omit<ServedImages, 'clients'>>): this {
    this.images = images;
    return this;
  }

  /** Build (or reuse from the keyed cache) the images of another vm-images/ folder, e.g. an older revision's (./lab bisect). */
  withVmImages(dir: string): this {
    this.vmImagesDir = dir;
    return this;
  }

  /**
   * Build and serve only the default client's kind (build.sh --kinds): a lab whose clients
   * all boot that kind, as ./lab bisect's are, skips the other kind's initramfs (the stock
   * one takes 24 s of dracut per revision here). A client of another kind is then a
   * set-up error naming what the image set has.
   */
  withOwnKindOnly(): this {
    this.ownKindOnly = true;
    return this;
  }

  /**
   * The NBD exports this lab's server will offer, known before anything starts: from the
   * nbd-server configuration of the server image's recipe (vm-images/server/rootfs) and the
   * server files given. Undefined for a server image given from outside (withImages).
   */
  configuredExports(): string[] | undefined {
    if (this.images?.serverImage !== undefined) return undefined;
    return serverExports(join(this.vmImagesDir ?? VM_IMAGES_DIR, 'server', 'rootfs'), this.serverFiles);
  }

  withRunContext(run: RunContext): this {
    this.run = run;
    return this;
  }

  /** Configures the lab network (subnet, IPv6, TUN device) before it is created. */
  withNetwork(configure: (network: LabNetwork) => LabNetwork): this {
    this.configureNetwork = configure;
    return this;
  }

  withServerEnv(env: Record<string, string>): this {
    this.serverEnv = { ...this.serverEnv, ...env };
    return this;
  }

  /**
   * A DHCP root-path (option 17) for the clients' initramfs (root=dhcp, netroot=dhcp),
   * e.g. 'nbd:{server}:root:ext4'; {export} is filled in here, {server} by the server
   * (its own address). iPXE is not sent it.
   */
  withRootPath(template: string, exportName = ROOT_EXPORT): this {
    return this.withServerEnv({ LAB_ROOT_PATH: expandRootTemplate('--root-path', validateRootPath(template), { server: '{server}', exportName }) });
  }

  /** Which nbd-server the server runs (harness/server/nbd-server-version.ts): bookworm's 3.24 by default. */
  withNbdServer(version: NbdServerVersion): this {
    this.nbdServer = version;
    return this;
  }

  /** What runs as PID 1 in the server container: our entrypoint (default), systemd or sysvinit. */
  withServerInit(init: ServerInit): this {
    this.serverInit = init;
    return this;
  }

  /** Files put into the server container before it starts (a test's variant of the stack, e.g. an nbd-server conf.d export). */
  withServerFiles(files: ServerFile[]): this {
    this.serverFiles = [...this.serverFiles, ...files];
    return this;
  }

  async start(opts: LabStartOptions = {}): Promise<StartedLab> {
    // The state root first: a bad one is refused (exit 3) before anything is reaped in it.
    checkStateRoot();
    debug('run %s: starting', this.run.id);
    // A signal's teardown stops the start at its next step and waits until what it made is gone.
    const inFlight = new StartInFlight(this.run.id);
    trackStoppable(inFlight, true);
    const starting = this.startSteps(inFlight, opts);
    inFlight.follow(starting);
    try {
      return await starting;
    } finally {
      trackStoppable(inFlight, false);
    }
  }

  private async startSteps(inFlight: StartInFlight, opts: LabStartOptions): Promise<StartedLab> {
    const deadline = opts.deadline ?? stepDeadline(budgetMs('labStart'), 'lab start (image build included)');
    checkHostSupports(this.serverInit);
    calibrateCpu();
    const info = await execCommand('docker', ['info', '--format', '{{.ServerVersion}}'], { deadline, allowFailure: true });
    if (info.code !== 0) {
      throw new SetupError(`no Docker daemon answers: ${info.stderr.trim().split('\n').pop() ?? ''}`, { hint: './lab setup starts dockerd' });
    }
    inFlight.check();
    const reportDir = this.reportDir ?? join(REPORTS_ROOT, this.run.id);
    // Checked now, made once there is something to put in it (the server's log): a run
    // killed during its build leaves no empty report folder.
    checkWritableDir(reportDir, 'report folder');
    checkFreeSpace(reportDir, REPORT_MIN_FREE_MIB, 'report folder');
    // The image build (a no-op check when the cache is warm) runs while dead runs are
    // reaped and the network is made: neither needs the images.
    const nbd = { server: this.nbdServer, client: this.defaultClient.nbdClient };
    const stockNbd = nbd.server === NBD_SERVER_DIMENSION.default && nbd.client === CLIENT_DIMENSIONS.nbdClient.default;
    const building = ensureImages({ deadline: deadline.child(budgetMs('imageBuild'), 'image build'), run: this.run, ...(stockNbd ? {} : { nbd }), stack: this.defaultClient.stack, ...(this.ownKindOnly ? { kinds: [this.defaultClient.kind] } : {}), ...(this.vmImagesDir ? { dir: this.vmImagesDir } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    building.catch(() => undefined);
    // The accelerator is chosen by a probe of the kernel the clients will boot, as soon as
    // it is there and checked, while the network is made.
    const serving = building.then(async (m): Promise<ServedImages> => {
      const served = servedImages(m, this.defaultClient.kind, this.images);
      await checkServedImages(served, deadline);
      return served;
    });
    serving.catch(() => undefined);
    const deciding = serving.then(async (served) => {
      const speed = await decideHostSpeed({ kernel: served.kernel, initrd: served.initrd, deadline: deadline.child(budgetMs('accelProbe'), 'choose the accelerator') });
      opts.onProgress?.(`lab: accelerator: ${speed.accelReason}`);
      return speed;
    });
    deciding.catch(() => undefined);
    // Whatever a dead run left behind goes first; live runs (another lab) are left alone.
    const reaping = reap({ deadline: deadline.child(budgetMs('reapAtStart'), 'reap dead runs'), except: this.run.id });
    reaping.catch(() => undefined);
    // testcontainers takes ~1 s of module loading: done here, on this thread, while the
    // build check and the reaper's docker calls run in their own processes.
    const serverModule = import('../server/ltsp-server');
    serverModule.catch(() => undefined);
    try {
      await Promise.all([serverModule, reaping]);
      inFlight.check();
    } catch (e) {
      await Promise.allSettled([building, reaping, deciding]);
      throw e;
    }
    this.run.register();
    debug('run %s: reports in %s', this.run.id, reportDir);

    try {
      return await this.startRegistered(inFlight, deadline, { building, serving, deciding }, reportDir, serverModule, opts);
    } catch (e) {
      this.run.unregister();
      throw e;
    }
  }

  private async startRegistered(
    inFlight: StartInFlight,
    deadline: Deadline,
    { building, serving, deciding }: { building: Promise<ImageManifest>; serving: Promise<ServedImages>; deciding: Promise<HostSpeed> },
    reportDir: string,
    serverModule: Promise<typeof import('../server/ltsp-server')>,
    opts: LabStartOptions,
  ): Promise<StartedLab> {
    let network: StartedLabNetwork;
    try {
      network = await this.configureNetwork(new LabNetwork(this.run)).start(deadline);
    } catch (e) {
      await Promise.allSettled([building, serving, deciding]);
      throw e;
    }
    let manifest: ImageManifest;
    let served: ServedImages;
    let speed: HostSpeed;
    try {
      inFlight.check();
      manifest = await building;
      served = await serving;
      speed = await deciding;
      debug('run %s: speed %o', this.run.id, speed);
      inFlight.check();
      ensureWritableDir(reportDir, 'report folder');
    } catch (e) {
      await Promise.allSettled([building, serving, deciding]);
      await network.stop();
      throw e;
    }
    // A client without a script of its own boots the lab's default: its default kind, the root export, its union (or LTSP's image, on the ltsp23 stack).
    const ltsp23 = this.defaultClient.stack === 'ltsp23' ? ltsp23Images(manifest).imageName : undefined;
    const defaultArgs = ltsp23 === undefined ? kernelArgs({ exportName: ROOT_EXPORT, union: this.defaultClient.union }) : ltsp23KernelArgs({ imageName: ltsp23 });
    writeDefaultScript(this.run, clientScript('default', defaultArgs, this.defaultClient, ltsp23));
    const lab = new StartedLab(this.run, network, speed, reportDir, manifest, served, this.defaultClient);
    trackStoppable(lab, true);
    const serverStarting = (async (): Promise<StartedLtspServer> => {
      const { LtspServerContainer } = await serverModule;
      return new LtspServerContainer(served, this.run, network)
        .withLogFile(join(reportDir, 'server.log'))
        .withServerEnv(this.serverEnv)
        .withServerFiles(this.serverFiles)
        .withInit(this.serverInit)
        .startWithin(deadline.child(budgetMs('serverReady', speed), 'server ready'));
    })();
    serverStarting.catch(() => undefined);
    const slot = serverSlots.get(lab) as ServerSlot;
    slot.starting = serverStarting;
    try {
      let early: unknown;
      if (opts.whileServerStarts) await opts.whileServerStarts(lab).catch((e: unknown) => (early = e));
      slot.server = await serverStarting;
      inFlight.check();
      if (early !== undefined) throw early;
      // An old-style server has no names to list (a client of it gives its own --root-arg).
      const exports = this.nbdServer === 'oldstyle' ? [] : await listExports(lab.server.ip, deadline.child(budgetMs('listExports'), 'list the NBD exports'));
      inFlight.check();
      slot.exports = exports;
      for (const c of lab.runningClients) if (c.exportChecked) checkExport(c.exportName, exports);
      return lab;
    } catch (e) {
      await lab.stop(); // waits for a server still starting, and stops it
      // Counted, not assumed: with Docker gone, the teardown cannot remove everything.
      const left = await lab.leftovers();
      if (left.length > 0) opts.onProgress?.(`lab: ${describeLeftovers(left)}`);
      throw e;
    }
  }
}

/**
 * A lab's start as a signal's teardown sees it (issue 19: SIGTERM is honoured at every
 * point of start-up). The steps do not stop mid-call (a docker call, the server's start),
 * so stop() marks the start stopped, the start throws at its next step and removes what
 * it made on the way out (its own fail-closed paths), and stop() returns once it has,
 * within the startStop budget: the process then exits leaving nothing. The build and the
 * accelerator probe are process groups of their own, stopped at once.
 */
class StartInFlight {
  private stoppedOn?: string;
  private settled: Promise<unknown> = Promise.resolve();

  constructor(private readonly runId: string) {}

  follow(start: Promise<unknown>): void {
    this.settled = start.catch(() => undefined);
  }

  /** Throws once stop() was called: the start goes no further. */
  check(): void {
    if (this.stoppedOn !== undefined) throw new HarnessError(`the start of run ${this.runId} was stopped on ${this.stoppedOn}`);
  }

  async stop(): Promise<void> {
    this.stoppedOn ??= teardownSignal() ?? 'a stop';
    debug('run %s: start stopped on %s: waiting for its step in flight', this.runId, this.stoppedOn);
    await Deadline.after(budgetMs('startStop'), `the start of run ${this.runId} to stop`)
      .race(this.settled)
      .catch((e: unknown) => debug('run %s: %s', this.runId, (e as Error).message));
  }
}

/**
 * What Lab.start fills in while the StartedLab it hands to whileServerStarts already
 * exists: the server's start, the server, its exports. Module-private: nobody else sets them.
 */
interface ServerSlot {
  starting?: Promise<StartedLtspServer>;
  server?: StartedLtspServer;
  exports?: string[];
}

const serverSlots = new WeakMap<StartedLab, ServerSlot>();

export class StartedLab implements AsyncDisposable {
  private nextIndex = 1;
  private readonly clients = new Set<StartedThinClient>();
  private stopping?: Promise<void>;
  private readonly slot: ServerSlot = {};
  /** What its clients need of the lab (ThinClient's ClientHost): the plumbing stays in here. */
  private readonly host: ClientHost;

  /** Made by Lab.start, which attaches the server and its exports before it returns the lab. */
  constructor(
    readonly run: RunContext,
    readonly network: StartedLabNetwork,
    readonly speed: HostSpeed,
    readonly reportDir: string,
    readonly manifest: ImageManifest,
    readonly served: ServedImages,
    /** What its clients boot unless their builder says otherwise. */
    readonly defaultClient: ClientSpec = DEFAULT_CLIENT_SPEC,
  ) {
    serverSlots.set(this, this.slot);
    const slot = this.slot;
    this.host = {
      run,
      network,
      speed,
      reportDir,
      defaultClient,
      kernelVersionFor: (spec) => this.kernelVersionFor(spec),
      ltsp23Image: () => this.ltsp23Image(),
      get exports() {
        return slot.exports;
      },
      watch: () => this.watch(),
      macHolder: (mac) => [...this.clients].find((c) => c.mac === mac.toLowerCase())?.name,
      allocateIndex: () => this.nextIndex++,
      contention: () => this.contention(),
      track: (client, on) => {
        if (on) this.clients.add(client);
        else this.clients.delete(client);
      },
    };
  }

  /** The name of the LTSP image this lab serves the ltsp23 stack (its NBD export); a SetupError when the image set has none. */
  ltsp23Image(): string {
    return ltsp23Images(this.manifest).imageName;
  }

  /** The version of the kernel served to clients of `spec`; a SetupError when the image set has no such client. */
  kernelVersionFor(spec: ClientSpec): string {
    return specImages(this.manifest, spec).kernelVersion;
  }

  /** The LTSP server container, ready (dnsmasq, httpd and nbd-server answer). */
  get server(): StartedLtspServer {
    if (!this.slot.server) throw new HarnessError('the lab server is still starting: use the lab once Lab.start() has returned it');
    return this.slot.server;
  }

  /** What a client needs of the server to log a user in there (StartedThinClient.logIn): its address and SSH host keys. */
  async loginServer(deadline: Deadline = Deadline.after(budgetMs('faultStep'), 'the server\'s SSH host keys')): Promise<LoginServer> {
    return { ip: this.server.ip, hostKeys: await this.server.sshHostKeys(deadline) };
  }

  /** The NBD exports the server lists, read once at start (undefined while it starts). */
  get exports(): string[] | undefined {
    return this.slot.exports;
  }

  /**
   * Fails when the lab itself breaks under a boot: the bridge vanishes, Docker stops
   * answering or the server container is removed (HarnessError: the lab is broken), or
   * the server container stops (SutError: the stack is gone). Polled every two seconds
   * until stopped.
   */
  watch(): LabWatch {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const promise = new Promise<never>((_, reject) => {
      const tick = async (): Promise<void> => {
        if (stopped) return;
        const d = Deadline.after(budgetMs('labWatch'), 'lab watch');
        if (!(await this.network.bridgeExists(d))) {
          reject(new HarnessError(`the lab bridge ${this.network.bridge} is gone: something outside the lab deleted it mid-run`, { hint: './lab clean, then run again' }));
          return;
        }
        const state = await execCommand('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', this.server.getId()], { deadline: d, allowFailure: true });
        const [status, code] = state.stdout.trim().split(' ');
        if (state.code !== 0) {
          // Docker itself gone, or the container removed from outside: the lab broke, not the stack.
          const silence = await dockerSilence(d);
          reject(silence !== undefined
            ? new HarnessError(`the Docker daemon stopped answering mid-run: ${silence}`, { hint: DOCKER_GONE_HINT })
            : new HarnessError(`the LTSP server container was removed mid-run by something outside the lab: ${lastLine(state.stderr)}`, { hint: './lab clean, then run again' }));
          return;
        }
        if (status === 'paused') {
          reject(this.heldError(PAUSED));
          return;
        }
        if (status !== 'running') {
          reject(new SutError(`the LTSP server container stopped mid-run (${status}, exit ${code})\n--- server log ---\n${this.server.logTail(20).join('\n')}`));
          return;
        }
        if (!stopped) timer = setTimeout(() => void tick(), 2000);
      };
      timer = setTimeout(() => void tick(), 2000);
    });
    promise.catch(() => undefined);
    return {
      promise,
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  }

  /**
   * A boot failure as the stack's (SutError), unless the server container was held from
   * outside the lab (paused, frozen, its processes stopped): its clients could not get
   * through then however good the stack, so that is a HarnessError (exit 5) saying what
   * to do. Anything else comes back as it was.
   */
  async blame(failure: unknown): Promise<unknown> {
    if (!(failure instanceof SutError) || this.slot.server === undefined) return failure;
    const facts = await readHeldFacts(this.server.getId(), Deadline.after(budgetMs('labWatch'), 'is the server container held'));
    const held = facts === undefined ? undefined : describeHeld(facts);
    return held === undefined ? failure : this.heldError(held, failure);
  }

  /** The one wording of a server held from outside, from blame() and from the watch. */
  private heldError(held: string, failure?: SutError): HarnessError {
    const id = this.server.getId().slice(0, 12);
    const said = failure ? `\n--- what the boot said ---\n${failure.message}` : '';
    return new HarnessError(`the LTSP server container ${id} is ${held}, so its clients could not go on: not the stack's doing${said}`, {
      hint: `something outside the lab holds it: docker unpause ${id}, thaw its cgroup's freezer, or kill -CONT its processes; then run again`,
      ...(failure ? { cause: failure } : {}),
    });
  }

  /** A thin-client builder for this lab. */
  client(name: string): ThinClient {
    return new ThinClient(name, this.host);
  }

  /** How much slower a boot runs now, with the clients that share the host's cores (1 = alone). */
  contention(): number {
    return contentionFactor(this.clients.size, this.speed.cores);
  }

  get runningClients(): StartedThinClient[] {
    return [...this.clients];
  }

  /** What of this run is still on the machine (see runLeftovers): call after stop(). */
  leftovers(): Promise<string[]> {
    return runLeftovers(this.run, Deadline.after(budgetMs('teardown'), `count what run ${this.run.id} left`));
  }

  /** Stops every client, the server and the network, in that order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([...this.clients].map((c) => c.stop()));
      // A server still starting is waited for (its start has its own deadline; one that
      // fails is removed by testcontainers) and then stopped.
      const server = this.slot.server ?? (await this.slot.starting?.catch(() => undefined));
      await server?.stop();
      await this.network.stop();
      this.run.unregister();
      trackStoppable(this, false);
      debug('run %s stopped', this.run.id);
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}

/** The server's exports, as a real NBD peer on the lab bridge sees them. */
async function listExports(ip: string, deadline: Deadline): Promise<string[]> {
  const peer = await NbdPeer.connect(ip, { deadline });
  try {
    return await peer.listExports(deadline);
  } finally {
    await peer.close();
  }
}

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { ConsoleWaitError, SutError, TAIL_LINES, UsageError } from '../common/errors';
import { log } from '../common/log';
import { stepDeadline } from '../common/run-deadline';
import type { RunContext } from '../common/run-context';
import type { HostSpeed } from '../common/speed';
import type { StartedLabNetwork, Tap } from '../network/lab-network';
import { netdevId, QemuMachine, type StartedQemuMachine, type StopStep } from '../qemu/qemu-machine';
import type { ClientTimeline, FaultMark, PointMark, StageMark } from '../report/types';
import { writeClientScript } from '../server/client-scripts';
import { followStages } from './follow-stages';
import { clientScript, kernelArgs, ltsp23KernelArgs, validateRootArg } from './kernel-args';
import { BOOT_FAIL_PATTERNS, RESCUE_SHELL, SHELL_PROMPT, bootBudgetMs, bootPoints, bootStages, leaseIpOf, stageBudgetMs, type StageDef } from './stages';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';
import { budgetMs, type StepKind } from '../common/budgets';
import { clientSpec, type ClientKind, type ClientSpec } from '../client/client-spec';

const debug = log('boot');

/** What a client needs from the lab it boots in. */
export interface ClientHost {
  readonly run: RunContext;
  readonly network: StartedLabNetwork;
  readonly speed: HostSpeed;
  readonly reportDir: string;
  /**
   * The exports the server lists; undefined while the server is still starting (clients
   * powered on beside it are checked once it answers, see Lab.start).
   */
  readonly exports: string[] | undefined;
  watch(): LabWatch;
  /** The running client that has this MAC, if any. */
  macHolder(mac: string): string | undefined;
  /** What a client of this lab boots unless its builder says otherwise (Lab.withClient). */
  readonly defaultClient: ClientSpec;
  /**
   * The version of the kernel this lab serves to clients of `spec` (uname -r). Throws a
   * SetupError when the image set has no such client: refused before QEMU starts.
   */
  kernelVersionFor(spec: ClientSpec): string;
  /** The name of the LTSP image this lab serves the ltsp23 lane (its NBD export); a SetupError when it serves none. */
  ltsp23Image(): string;
  /** A unique client number in this lab (tap name, default MAC). */
  allocateIndex(): number;
  /** How much slower a boot runs now, with the clients that share the host's cores (1 = alone). */
  contention(): number;
  /** Called once a client is started and again when it stops, so the lab can stop it. */
  track(client: StartedThinClient, on: boolean): void;
}

/** Where a started client is (StartedThinClient.state). */
export type ClientState = 'booting' | 'up' | 'failed' | 'shell' | 'off';

/** A running check that rejects when the lab breaks under a boot (see StartedLab.watch). */
export interface LabWatch {
  promise: Promise<never>;
  stop(): void;
}

export interface CommandResult {
  code: number;
  output: string;
}

/** A client asks for an export by name: refused up front when the server does not list it. */
export function checkExport(name: string, exports: readonly string[]): void {
  if (!exports.includes(name)) {
    throw new UsageError(`the server has no NBD export '${name}'`, { hint: `it has: ${exports.join(', ') || '(none)'}` });
  }
}

/**
 * A thin client: a QEMU PC with a NIC on the lab bridge that PXE-boots from the lab's
 * server. Builder; `start()` returns a StartedThinClient.
 */
export class ThinClient {
  private memoryMb = 384;
  private nicModel = 'virtio-net-pci';
  private mac?: string;
  private union = true;
  private append?: string;
  private exportName = 'root';
  private exportChecked = true;
  private rescueShell = false;
  private rootArg?: string;
  private qemuBinary?: string;
  private spec?: ClientSpec;

  constructor(
    readonly name: string,
    private readonly host: ClientHost,
  ) {
    if (!/^[a-z][a-z0-9-]{0,15}$/.test(name)) throw new UsageError(`client name '${name}' must be 1-16 of a-z, 0-9, -`);
  }

  /** What this client boots (client/client-spec.ts); the lab's default otherwise. */
  boots(spec: ClientSpec): this {
    this.spec = spec;
    return this;
  }

  /** Boots a client of this kind (ltsp: the lab's own kernel and initramfs; stock: Debian's), other dimensions as given so far. */
  withKind(kind: ClientKind): this {
    return this.boots(clientSpec({ ...this.client, kind }));
  }

  /** What this client boots. */
  get client(): ClientSpec {
    return this.spec ?? this.host.defaultClient;
  }

  withMemory(mb: number): this {
    this.memoryMb = mb;
    return this;
  }

  withNic(model: string): this {
    this.nicModel = model;
    return this;
  }

  withMac(mac: string): this {
    this.mac = mac.toLowerCase();
    return this;
  }

  /** rd.unionfs=1 (default on): the copy-on-write union over the read-only NBD root. */
  withUnion(on: boolean): this {
    this.union = on;
    return this;
  }

  /** Extra kernel arguments (validated). */
  withAppend(args: string): this {
    this.append = args;
    return this;
  }

  /** Another QEMU binary (default: qemu-system-x86_64 on PATH). */
  withQemuBinary(path: string): this {
    this.qemuBinary = path;
    return this;
  }

  /** The root argument in place of the lab's root=nbd:... (a template: {server}, {export}; see kernelArgs). */
  withRootArg(template: string): this {
    this.rootArg = validateRootArg(template);
    return this;
  }

  /** The NBD export to ask for (the server has "root"). */
  withExportName(name: string): this {
    this.exportName = name;
    return this;
  }

  /**
   * Boots even when the server does not list the export: the failure is what a person
   * wants to look at (./lab boot --keep). Otherwise an unknown export is a UsageError
   * before QEMU starts.
   */
  withExportUnchecked(): this {
    this.exportChecked = false;
    return this;
  }

  /** A failed initramfs stops at dracut's emergency shell, soon (RESCUE_ARGS on the kernel command line). */
  withRescueShell(): this {
    this.rescueShell = true;
    return this;
  }

  get stages(): StageDef[] {
    return bootStages({ union: this.union, client: this.client });
  }

  /** Writes the client's iPXE script, adds its tap and starts QEMU. Tears down on failure. */
  async start(deadline: Deadline = stepDeadline(budgetMs('clientStart', this.host.speed), `start ${this.name}`)): Promise<StartedThinClient> {
    const spec = this.client;
    // The ltsp23 lane boots LTSP's image, exported under the name LTSP gave it: its own root, no union switch, no root argument of the k12 lane's.
    const ltsp23 = spec.stack === 'ltsp23' ? this.host.ltsp23Image() : undefined;
    if (ltsp23 !== undefined && (this.rootArg !== undefined || this.exportName !== 'root')) {
      throw new UsageError('--root-arg and --export are for the k12 stack: the ltsp23 stack boots LTSP\'s image, by its own name', { hint: 'leave them out with --stack ltsp23' });
    }
    const exportName = ltsp23 ?? this.exportName;
    if (this.host.exports && this.exportChecked) checkExport(exportName, this.host.exports);
    const kernelVersion = this.host.kernelVersionFor(spec);
    const index = this.host.allocateIndex();
    const mac = this.mac ?? `52:54:00:4c:${this.host.run.id.charCodeAt(5).toString(16).padStart(2, '0')}:${index.toString(16).padStart(2, '0')}`;
    const holder = this.host.macHolder(mac);
    if (holder) throw new UsageError(`MAC ${mac} is already used by client ${holder} in this lab: dnsmasq leases by MAC`, { hint: 'give each client its own MAC' });
    const append = this.append ? { append: this.append } : {};
    const args =
      ltsp23 !== undefined
        ? ltsp23KernelArgs({ imageName: ltsp23, ...append })
        : kernelArgs({ exportName: this.exportName, union: this.union, rescueShell: this.rescueShell, ...append, ...(this.rootArg ? { rootArg: this.rootArg } : {}) });
    const dir = join(this.host.reportDir, this.name);
    mkdirSync(dir, { recursive: true });
    const machine = new QemuMachine(this.name, join(this.host.run.stateDir, this.name))
      .withAccel(this.host.speed.accel)
      .withMemory(this.memoryMb)
      .withBootOrder('n')
      .withConsoleLog(join(dir, 'console.log'))
      .withQmpLog(join(dir, 'qmp.log'));
    writeClientScript(this.host.run, mac, clientScript(this.name, args, spec, ltsp23));
    const tap = await this.host.network.addTap(index, deadline);
    let qemu: StartedQemuMachine;
    try {
      machine.withNic({ model: this.nicModel, mac, tap: tap.name });
      if (this.qemuBinary) machine.withBinary(this.qemuBinary);
      qemu = await machine.start(deadline);
    } catch (e) {
      await this.host.network.removeTap(tap, Deadline.after(budgetMs('teardown'), `remove tap ${tap.name}`));
      throw e;
    }
    debug('%s started: pid %d mac %s tap %s client %o', this.name, qemu.pid, mac, tap.name, spec);
    const client = new StartedThinClient(this.name, mac, qemu, tap, this.host, this.stages, this.memoryMb, dir, exportName, this.exportChecked, { spec, kernelVersion });
    this.host.track(client, true);
    return client;
  }
}

/** The QOM id of the delay fault's netdev filter. */
const DELAY_FILTER = 'ltsp-fault-delay';

export class StartedThinClient implements AsyncDisposable {
  readonly timeline: StageMark[] = [];
  /** Points inside the stages of the last boot followed (bootPoints): where the time went. */
  readonly points: PointMark[] = [];
  /** `tail`: the console's last lines when the boot failed, so later output (QEMU runs on until its stop) does not bury the line that failed it. */
  private failure?: { stage: string; error: string; tail: string[] };
  /** Set while waitForBoot follows the boot; false once it returned or threw. */
  private following = false;
  /** How many stages the last waitForBoot followed (all, or up to its `upTo`); unset: all. */
  private followed?: number;
  private readonly faultMarks: FaultMark[] = [];
  /** Multiplies every budget of this client (a slow-link fault, see harness/fault). */
  private stretch = 1;
  private commandCount = 0;
  private stopping?: Promise<StopStep>;
  private readonly stageListeners = new Set<(mark: StageMark) => void>();
  private rescue?: StageMark;

  constructor(
    readonly name: string,
    readonly mac: string,
    readonly qemu: StartedQemuMachine,
    private readonly tap: Tap,
    private readonly host: ClientHost,
    readonly stages: StageDef[],
    readonly memoryMb: number,
    /** This client's report folder: console.log, qmp.log. */
    readonly dir: string,
    /** The NBD export it asks for. */
    readonly exportName: string,
    /** Whether the lab refuses it when its server does not list the export (see withExportUnchecked). */
    readonly exportChecked = true,
    /** What it boots, and the version of the kernel served for that. */
    readonly boots: { spec: ClientSpec; kernelVersion?: string } = { spec: host.defaultClient },
  ) {}

  /** What this client boots. */
  get client(): ClientSpec {
    return this.boots.spec;
  }

  get console() {
    return this.qemu.console;
  }

  /** A step's limit for this client: scaled to the host and the clients running beside this one. */
  budgetMs(kind: StepKind): number {
    return budgetMs(kind, this.host.speed, this.host.contention()) * this.stretch;
  }

  /** The whole boot's budget on this host, with the clients running beside this one: the sum of its stages'. */
  bootBudgetMs(): number {
    return bootBudgetMs(this.stages, this.host.speed, this.host.contention()) * this.stretch;
  }

  /** Gives every later budget of this client `factor` times its time (a fault that slows its link). Call before waitForBoot. */
  stretchBudgets(factor: number): void {
    this.stretch = Math.max(1, factor);
  }

  /**
   * Follows the boot through every stage in order, stamping each from the console. A
   * stage that does not come within its budget, a failure pattern, a later stage seen
   * first, or QEMU exiting fails the boot with a BootStageError naming the stage.
   */
  async waitForBoot(deadline: Deadline = stepDeadline(this.bootBudgetMs(), `boot of ${this.name}`), upTo = 'login'): Promise<StageMark[]> {
    this.timeline.length = 0;
    this.points.length = 0;
    delete this.failure;
    const last = this.stages.findIndex((s) => s.id === upTo);
    const stages = last < 0 ? this.stages : this.stages.slice(0, last + 1);
    this.followed = stages.length;
    const watch = this.host.watch();
    this.following = true;
    try {
      await followStages(this.qemu, stages, {
        deadline,
        budgetMs: (stage) => stageBudgetMs(stage, this.host.speed, this.host.contention()) * this.stretch,
        marks: this.timeline,
        abort: Promise.race([watch.promise, this.console.logFailed]),
        stopping: () => this.stopping !== undefined,
        consoleLogFile: join(this.dir, 'console.log'),
        onFailure: (stage, error) => (this.failure = { stage: stage.id, error, tail: this.console.lines().slice(-TAIL_LINES).map((l) => l.text) }),
        onMark: (mark) => this.emitStage(mark),
        points: bootPoints(this.client),
        pointMarks: this.points,
      });
    } finally {
      this.following = false;
      watch.stop();
    }
    return this.timeline;
  }

  /**
   * The mark of a stage once the boot followed by waitForBoot reaches it. Rejects with a
   * SutError when the boot ends (fails) without it, and at the deadline.
   */
  async reached(stage: string, deadline: Deadline): Promise<StageMark> {
    for (;;) {
      const mark = this.timeline.find((m) => m.stage === stage);
      if (mark) return mark;
      if (this.failure) throw new SutError(`${this.name} never reached '${stage}': its boot failed at '${this.failure.stage}'`);
      if (!this.following && this.timeline.length > 0) throw new SutError(`${this.name} never reached '${stage}': its boot ended without it`);
      deadline.check();
      await deadline.sleep(100);
    }
  }

  /** A lab fault: the NIC's link down (false) or up (QMP set_link on its netdev). */
  async setLink(up: boolean, deadline: Deadline): Promise<void> {
    await this.qemu.qmp.setLink(netdevId(0), up, deadline);
  }

  /** A lab fault: `pct` % of this client's frames dropped on the bridge, both ways. */
  async addLoss(pct: number, deadline: Deadline): Promise<void> {
    await this.host.network.addLoss(this.tap, pct, deadline);
  }

  async removeLoss(deadline: Deadline): Promise<void> {
    await this.host.network.removeLoss(this.tap, deadline);
  }

  /** Frames the loss fault dropped so far. */
  lostFrames(deadline: Deadline): Promise<number> {
    return this.host.network.lostFrames(this.tap, deadline);
  }

  /**
   * A lab fault: every frame to and from this client held up to `ms` (QEMU's
   * filter-buffer on its netdev releases what it holds every `ms`).
   */
  async addDelay(ms: number, deadline: Deadline): Promise<void> {
    await this.qemu.qmp.addObject('filter-buffer', DELAY_FILTER, { netdev: netdevId(0), queue: 'all', interval: Math.round(ms * 1000) }, deadline);
  }

  async removeDelay(deadline: Deadline): Promise<void> {
    await this.qemu.qmp.deleteObject(DELAY_FILTER, deadline);
  }

  /** Calls `listener` with each boot stage as waitForBoot sees it (and dracut's shell); returns its removal. */
  onStage(listener: (mark: StageMark) => void): () => void {
    this.stageListeners.add(listener);
    return () => this.stageListeners.delete(listener);
  }

  private emitStage(mark: StageMark): void {
    for (const l of this.stageListeners) l(mark);
  }

  /**
   * After a boot that failed in the initramfs of a client started withRescueShell():
   * waits for dracut's emergency shell (RESCUE_SHELL). Only a kernel panic or QEMU's exit
   * ends it early; dracut's own "emergency mode" lines are what it waits for.
   */
  async waitForRescueShell(deadline: Deadline = stepDeadline(stageBudgetMs(RESCUE_SHELL, this.host.speed, this.host.contention()), `${this.name}: ${RESCUE_SHELL.label}`)): Promise<StageMark> {
    const m = await this.console.waitFor(RESCUE_SHELL.pattern, {
      deadline,
      failOn: DEFAULT_FAIL_PATTERNS.filter((p) => p.name === 'kernel-panic'),
      exited: this.qemu.exited,
      what: `${this.name}: ${RESCUE_SHELL.label}`,
    });
    this.rescue = { stage: RESCUE_SHELL.id, label: RESCUE_SHELL.label, t: Math.round(m.t), budgetMs: Math.round(deadline.totalMs), line: m.line.text };
    this.emitStage(this.rescue);
    return this.rescue;
  }

  /**
   * Where the client is, in a word: booting, up (at its login), failed (at a stage),
   * shell (dracut's emergency shell, after a failure), off (QEMU is gone).
   */
  get state(): ClientState {
    if (!this.qemu.isRunning()) return 'off';
    if (this.rescue) return 'shell';
    if (this.failure) return 'failed';
    if (this.timeline.length > 0 && this.timeline.length === this.stages.length) return 'up';
    return 'booting';
  }

  /** The stage it failed at, if its boot failed. */
  get failedStage(): string | undefined {
    return this.failure?.stage;
  }

  /** Sends `sig` to its QEMU (a test's "killed from outside"); stop() is the orderly way. */
  kill(sig: NodeJS.Signals): void {
    this.qemu.kill(sig);
  }

  /**
   * Serves its serial console on a unix socket in the run's state folder, for any number
   * of people at once (./lab attach); closed when the client stops. Returns its path.
   */
  serveConsole(): Promise<string> {
    return this.qemu.serveConsole(join(this.host.run.stateDir, this.name, 'console.sock'));
  }

  /** The IPv4 address the firmware's DHCP got, from the timeline. */
  get leaseIp(): string | undefined {
    const dhcp = this.timeline.find((s) => s.stage === 'dhcp');
    return dhcp ? leaseIpOf(dhcp.line) : undefined;
  }

  /**
   * Runs a shell command at the root prompt on ttyS0 and returns its output and exit
   * code. Markers are printed by printf so the echoed command line cannot match them.
   */
  async run(command: string, deadline: Deadline = stepDeadline(this.budgetMs('shellCommand'), `${this.name}: ${command}`)): Promise<CommandResult> {
    if (command.includes('\n')) throw new UsageError('one command line at a time');
    try {
      return await this.runAtPrompt(command, deadline);
    } catch (e) {
      // A failure pattern (a panic, an oops) is the stack failing under the command; a
      // wait that merely ran out stays the harness's ConsoleWaitError.
      if (e instanceof ConsoleWaitError && e.reason === 'failure-pattern') {
        throw new SutError(`${this.name} failed while running '${command}': ${e.message}`, { cause: e, hint: `console log: ${join(this.dir, 'console.log')}` });
      }
      throw e;
    }
  }

  private async runAtPrompt(command: string, deadline: Deadline): Promise<CommandResult> {
    const n = ++this.commandCount;
    await this.console.waitFor(SHELL_PROMPT, { deadline, failOn: BOOT_FAIL_PATTERNS, exited: this.qemu.exited, what: `${this.name}: shell prompt before '${command}'` });
    // The serial tty is 80 columns, and findmnt, ps & co. cut their lines to it.
    this.qemu.type(`printf '=%s=\\n' LTSPBEGIN${n}; stty cols 512 2>/dev/null; export COLUMNS=512; ${command}; printf '\\n=%s=%d=\\n' LTSPEND${n} $?\n`);
    const begin = await this.console.waitFor(new RegExp(`^=LTSPBEGIN${n}=$`), { deadline, failOn: BOOT_FAIL_PATTERNS, exited: this.qemu.exited, what: `${this.name}: start of '${command}'` });
    const end = await this.console.waitFor(new RegExp(`^=LTSPEND${n}=(\\d+)=$`), { deadline, failOn: BOOT_FAIL_PATTERNS, exited: this.qemu.exited, what: `${this.name}: end of '${command}'` });
    const lines = this.console.lines().filter((l) => l.index > begin.line.index && l.index < end.line.index).map((l) => l.text);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return { code: Number(end.match[1]), output: lines.join('\n') };
  }

  /** Like run(), but a non-zero exit is a SutError carrying the output. */
  async check(command: string, deadline?: Deadline): Promise<string> {
    const r = await this.run(command, deadline);
    if (r.code !== 0) throw new SutError(`'${command}' on ${this.name} exited ${r.code}:\n${r.output}`);
    return r.output;
  }

  /** QMP system_reset: a hard reset; console waits after it see only the new boot. */
  async reset(deadline: Deadline = stepDeadline(budgetMs('reset'), `reset ${this.name}`)): Promise<void> {
    this.console.skipToEnd();
    await this.qemu.qmp.systemReset(deadline);
  }

  /** The timeline as the report and `./lab boot --json` show it. */
  report(): ClientTimeline {
    return {
      client: this.name,
      mac: this.mac,
      boots: this.client,
      ...(this.boots.kernelVersion ? { kernelVersion: this.boots.kernelVersion } : {}),
      // A boot followed up to a stage (./lab bisect --stage) is whole when it got there.
      ok: !this.failure && this.timeline.length === (this.followed ?? this.stages.length),
      ...(this.failure ? { failedStage: this.failure.stage, error: this.failure.error, failureTail: [...this.failure.tail] } : {}),
      stages: [...this.timeline],
      ...(this.points.length ? { points: [...this.points] } : {}),
      consoleLog: join(this.name, 'console.log'),
      qmpLog: join(this.name, 'qmp.log'),
      ...(this.leaseIp ? { leaseIp: this.leaseIp } : {}),
      memoryMb: this.memoryMb,
      ...(this.faultMarks.length ? { faults: [...this.faultMarks] } : {}),
    };
  }

  /** Records a lab fault this client lived through, for its timeline and the report. */
  noteFault(mark: FaultMark): void {
    this.faultMarks.push(mark);
  }

  /** Stops QEMU (QMP quit, then SIGTERM, SIGKILL) and removes the tap. Idempotent. */
  stop(): Promise<StopStep> {
    this.stopping ??= (async () => {
      const step = await this.qemu.stop();
      await this.host.network.removeTap(this.tap, Deadline.after(budgetMs('teardown'), `remove tap ${this.tap.name}`));
      this.host.track(this, false);
      return step;
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { consoleLogSetupError, type ConsoleLogError } from '../common/errors';
import { stepDeadline } from '../common/run-deadline';
import { budgetMs, type StepKind } from '../common/budgets';
import type { ClientSpec } from '../client/client-spec';
import type { StartedLabNetwork, Tap } from '../network/lab-network';
import { netdevId, type ConsoleLog, type StartedQemuMachine, type StopStep } from '../qemu-ts-wrapper';
import { stopQemu } from '../qemu/lab-qemu';
import { commandLine, cpuSeconds, rssKb } from '../qemu/proc-metrics';
import type { ClientTimeline, FaultMark, PointMark, StageMark } from '../results/types';
import { BootFollower } from './boot-follower';
import type { RunContext } from '../common/run-context';
import type { HostSpeed } from '../common/speed';
import { SerialShell, type CommandResult } from './serial-shell';
import { logInAtConsole, type LoginAttempt, type LoginServer } from './console-login';
import { loginMethodOf, type LoginCredentials } from '../client/login-methods';
import { UsageError, SutError } from '../common/errors';
import { RESCUE_SHELL, bootBudgetMs, sessionStage, stageBudgetMs, type StageDef } from './stages';

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
  /** The name of the LTSP image this lab serves the ltsp23 stack (its NBD export); a SetupError when it serves none. */
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

/**
 * A started thin client: its boot followed on the console (BootFollower), a root shell
 * at its serial console (SerialShell), its NIC's verbs for the lab's faults, its report.
 * Its QEMU is its own: callers use the verbs.
 */
export class StartedThinClient implements AsyncDisposable {
  private readonly boot: BootFollower;
  private readonly shell: SerialShell;
  private readonly faultMarks: FaultMark[] = [];
  /** Multiplies every budget of this client (a slow-link fault, see harness/fault). */
  private stretch = 1;
  private stopping?: Promise<StopStep>;

  constructor(
    readonly name: string,
    readonly mac: string,
    private readonly qemu: StartedQemuMachine,
    /** Its tap on the lab bridge (a fault drops its frames there). */
    readonly tap: Tap,
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
  ) {
    const consoleLogFile = join(dir, 'console.log');
    const logFailed = qemu.console.logFailed.catch((e: ConsoleLogError) => Promise.reject(consoleLogSetupError(e)));
    logFailed.catch(() => undefined);
    this.boot = new BootFollower(qemu, stages, {
      stageBudgetMs: (stage) => stageBudgetMs(stage, host.speed, host.contention()) * this.stretch,
      watch: () => host.watch(),
      logFailed,
      stopping: () => this.stopping !== undefined,
      consoleLogFile,
      client: boots.spec,
    });
    this.shell = new SerialShell(name, qemu, consoleLogFile);
  }

  /** What this client boots. */
  get client(): ClientSpec {
    return this.boots.spec;
  }

  /** Its serial console: lines, tail, waits from a cursor. */
  get console(): ConsoleLog {
    return this.qemu.console;
  }

  /** The stages of its last boot followed, as marked so far (a copy). */
  get timeline(): StageMark[] {
    return this.boot.timeline;
  }

  /** Points inside the stages of the last boot followed (bootPoints): where the time went (a copy). */
  get points(): PointMark[] {
    return this.boot.points;
  }

  /** performance.now() when its QEMU was spawned: console times count from here. */
  get startedAt(): number {
    return this.qemu.startedAt;
  }

  /** The pid of its QEMU, for a sampler of the host's /proc. */
  get pid(): number {
    return this.qemu.pid;
  }

  /** How its QEMU ended: its exit code, or the signal that ended it. */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.qemu.exited;
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
   * Resolves with a copy of the marks.
   */
  waitForBoot(deadline: Deadline = stepDeadline(this.bootBudgetMs(), `boot of ${this.name}`), upTo = 'login'): Promise<StageMark[]> {
    return this.boot.follow(deadline, upTo);
  }

  /**
   * The mark of a stage once the boot followed by waitForBoot reaches it. Rejects with a
   * SutError when the boot ends (fails) without it, and at the deadline.
   */
  reached(stage: string, deadline: Deadline): Promise<StageMark> {
    return this.boot.reached(this.name, stage, deadline);
  }

  /** The NIC's link down (false) or up: QMP set_link on its netdev. */
  async setLink(up: boolean, deadline: Deadline): Promise<void> {
    await this.qemu.qmp.setLink(netdevId(0), up, deadline);
  }

  /** Adds a netdev filter (QOM `qomType`, id `id`) on its NIC's netdev. */
  async addNicFilter(qomType: string, id: string, props: Record<string, unknown>, deadline: Deadline): Promise<void> {
    await this.qemu.qmp.addObject(qomType, id, { netdev: netdevId(0), ...props }, deadline);
  }

  /** Removes a filter addNicFilter added. */
  async removeNicFilter(id: string, deadline: Deadline): Promise<void> {
    await this.qemu.qmp.deleteObject(id, deadline);
  }

  /** Calls `listener` with each boot stage as waitForBoot sees it (and dracut's shell); returns its removal. */
  onStage(listener: (mark: StageMark) => void): () => void {
    return this.boot.onStage(listener);
  }

  /**
   * After a boot that failed in the initramfs of a client started withRescueShell():
   * waits for dracut's emergency shell (RESCUE_SHELL). Only a kernel panic or QEMU's exit
   * ends it early; dracut's own "emergency mode" lines are what it waits for.
   */
  waitForRescueShell(deadline: Deadline = stepDeadline(stageBudgetMs(RESCUE_SHELL, this.host.speed, this.host.contention()), `${this.name}: ${RESCUE_SHELL.label}`)): Promise<StageMark> {
    return this.boot.waitForRescueShell(this.name, deadline);
  }

  /**
   * Where the client is, in a word: booting, up (at its login), failed (at a stage),
   * shell (dracut's emergency shell, after a failure), off (QEMU is gone).
   */
  get state(): ClientState {
    if (!this.qemu.isRunning()) return 'off';
    if (this.boot.inRescueShell) return 'shell';
    if (this.boot.failed) return 'failed';
    if (this.boot.up) return 'up';
    return 'booting';
  }

  /** The stage it failed at, if its boot failed. */
  get failedStage(): string | undefined {
    return this.boot.failed?.stage;
  }

  /** Resident set size of its QEMU, in KiB; null once it is gone. */
  rssKb(): number | null {
    return rssKb(this.qemu.pid);
  }

  /** CPU time its QEMU has used so far (all threads, user + system), in s; null once it is gone. */
  cpuSeconds(): number | null {
    return cpuSeconds(this.qemu.pid);
  }

  /** The command line its QEMU runs with, as the kernel shows it; null once it is gone. */
  commandLine(): string[] | null {
    return commandLine(this.qemu.pid);
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

  /** How many people are attached to its console now. */
  get consoleAttaches(): number {
    return this.qemu.consoleAttaches;
  }

  /** The IPv4 address the firmware's DHCP got, from the timeline. */
  get leaseIp(): string | undefined {
    return this.boot.leaseIp;
  }

  /**
   * Runs a shell command at the root prompt on ttyS0 and returns its output and exit
   * code (see SerialShell).
   */
  run(command: string, deadline: Deadline = stepDeadline(this.budgetMs('shellCommand'), `${this.name}: ${command}`)): Promise<CommandResult> {
    return this.shell.run(command, deadline);
  }

  /** Like run(), but a non-zero exit is a SutError carrying the output. */
  check(command: string, deadline: Deadline = stepDeadline(this.budgetMs('shellCommand'), `${this.name}: ${command}`)): Promise<string> {
    return this.shell.check(command, deadline);
  }

  /**
   * Logs a user of the server in at the console, from root's shell, the way its stack
   * does (client/login-methods.ts), and resolves once the session's prompt shows, or with
   * the words the login was refused with. The first session of a boot joins its timeline
   * ("session up"). A UsageError when the stack has no login.
   */
  async attemptLogIn(creds: LoginCredentials, server: LoginServer, deadline: Deadline = stepDeadline(stageBudgetMs(sessionStage(creds.user), this.host.speed, this.host.contention()) * this.stretch, `${this.name}: log ${creds.user} in`)): Promise<LoginAttempt> {
    const method = loginMethodOf(this.client.stack);
    if (!method) throw new UsageError(`${this.name} boots the ${this.client.stack} stack, which has no login`);
    const attempt = await logInAtConsole(this.name, this.qemu, this.shell, join(this.dir, 'console.log'), method, creds, server, deadline, this.budgetMs('shellCommand'));
    if (attempt.ok) this.boot.markSession(attempt.session.mark);
    return attempt;
  }

  /** Like attemptLogIn, but a refusal is a SutError with its words. */
  async logIn(creds: LoginCredentials, server: LoginServer, deadline?: Deadline): Promise<Extract<LoginAttempt, { ok: true }>['session']> {
    const attempt = await this.attemptLogIn(creds, server, deadline);
    if (!attempt.ok) throw new SutError(`${this.name}: ${creds.user}'s login was refused: ${attempt.refusal}`, { hint: `console log: ${join(this.dir, 'console.log')}` });
    return attempt.session;
  }

  /** QMP system_reset: a hard reset; console waits after it see only the new boot. */
  async reset(deadline: Deadline = stepDeadline(budgetMs('reset'), `reset ${this.name}`)): Promise<void> {
    this.console.skipToEnd();
    await this.qemu.qmp.systemReset(deadline);
  }

  /** The timeline as the report and `./lab boot --json` show it. */
  report(): ClientTimeline {
    const failure = this.boot.failed;
    const points = this.boot.points;
    const leaseIp = this.leaseIp;
    return {
      client: this.name,
      mac: this.mac,
      boots: this.client,
      ...(this.boots.kernelVersion ? { kernelVersion: this.boots.kernelVersion } : {}),
      // A boot followed up to a stage (./lab bisect --stage) is whole when it got there.
      ok: this.boot.whole,
      ...(failure ? { failedStage: failure.stage, error: failure.error, failureTail: [...failure.tail] } : {}),
      stages: this.boot.timeline,
      ...(points.length ? { points } : {}),
      consoleLog: join(this.name, 'console.log'),
      qmpLog: join(this.name, 'qmp.log'),
      ...(leaseIp ? { leaseIp } : {}),
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
      const step = await stopQemu(this.qemu);
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

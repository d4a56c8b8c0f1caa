import { TAIL_LINES, SutError } from '../common/errors';
import type { Deadline } from '../common/deadline';
import type { StageMark, PointMark } from '../results/types';
import type { ConsoleLog, StartedQemuMachine } from '../qemu-ts-wrapper';
import type { ClientSpec } from '../client/client-spec';
import { DEFAULT_FAIL_PATTERNS } from '../console/fail-patterns';
import { followStages } from './follow-stages';
import { bootPoints, leaseIpOf, RESCUE_SHELL, type StageDef } from './stages';

/** What following a client's boot needs from the client. */
export interface BootFollowerHost {
  /** A stage's budget on this host now, in ms (scaled, with the client's stretch). */
  stageBudgetMs(stage: StageDef): number;
  /** A running check that rejects when the lab breaks under the boot. */
  watch(): { promise: Promise<never>; stop(): void };
  /** Rejects when the console's log file cannot be written (read as the lab's SetupError). */
  readonly logFailed: Promise<never>;
  /** True once the client is stopping: QEMU's exit is then not "killed from outside". */
  stopping(): boolean;
  readonly consoleLogFile: string;
  readonly client: ClientSpec;
}

/** How a boot that failed ended: its stage, why, and the console's last lines then. */
export interface BootFailure {
  stage: string;
  error: string;
  tail: string[];
}

/**
 * Follows one client's boots on its console: the stages in order, the points inside them,
 * dracut's rescue shell after a failure, and who listens. Holds the last boot's marks;
 * callers get copies.
 */
export class BootFollower {
  private readonly marks: StageMark[] = [];
  private readonly pointMarks: PointMark[] = [];
  private failure?: BootFailure;
  /** Set while a boot is followed; false once follow() returned or threw. */
  private following = false;
  /** How many stages the last follow() followed (all, or up to its `upTo`); unset: all. */
  private followed?: number;
  private readonly listeners = new Set<(mark: StageMark) => void>();
  private rescue?: StageMark;
  /** A logged-in user's "session up" (StartedThinClient.logIn), after the boot's own stages. */
  private session?: StageMark;

  constructor(
    private readonly machine: StartedQemuMachine,
    readonly stages: StageDef[],
    private readonly host: BootFollowerHost,
  ) {}

  private get console(): ConsoleLog {
    return this.machine.console;
  }

  /** The last boot's stage marks so far, and its session's if a user logged in (a copy). */
  get timeline(): StageMark[] {
    return this.session ? [...this.marks, this.session] : [...this.marks];
  }

  /** Adds the session's mark to this boot's timeline (one per boot: the first login's). */
  markSession(mark: StageMark): void {
    if (this.session) return;
    this.session = mark;
    this.emit(mark);
  }

  /** Points inside the stages of the last boot followed (a copy). */
  get points(): PointMark[] {
    return [...this.pointMarks];
  }

  /** Follows a boot up to `upTo` (default: every stage); returns a copy of its marks. */
  async follow(deadline: Deadline, upTo: string): Promise<StageMark[]> {
    this.marks.length = 0;
    this.pointMarks.length = 0;
    delete this.failure;
    delete this.session;
    const last = this.stages.findIndex((s) => s.id === upTo);
    const stages = last < 0 ? this.stages : this.stages.slice(0, last + 1);
    this.followed = stages.length;
    const watch = this.host.watch();
    this.following = true;
    try {
      await followStages(this.machine, stages, {
        deadline,
        budgetMs: (stage) => this.host.stageBudgetMs(stage),
        marks: this.marks,
        abort: Promise.race([watch.promise, this.host.logFailed]),
        stopping: () => this.host.stopping(),
        consoleLogFile: this.host.consoleLogFile,
        onFailure: (stage, error) => (this.failure = { stage: stage.id, error, tail: this.console.lines().slice(-TAIL_LINES).map((l) => l.text) }),
        onMark: (mark) => this.emit(mark),
        points: bootPoints(this.host.client),
        pointMarks: this.pointMarks,
      });
    } finally {
      this.following = false;
      watch.stop();
    }
    return this.timeline;
  }

  /** The mark of `stage` once the boot being followed reaches it (see StartedThinClient.reached). */
  async reached(name: string, stage: string, deadline: Deadline): Promise<StageMark> {
    for (;;) {
      const mark = this.marks.find((m) => m.stage === stage);
      if (mark) return mark;
      if (this.failure) throw new SutError(`${name} never reached '${stage}': its boot failed at '${this.failure.stage}'`);
      if (!this.following && this.marks.length > 0) throw new SutError(`${name} never reached '${stage}': its boot ended without it`);
      deadline.check();
      await deadline.sleep(100);
    }
  }

  /** Waits for dracut's emergency shell; only a kernel panic or QEMU's exit ends it early. */
  async waitForRescueShell(name: string, deadline: Deadline): Promise<StageMark> {
    const m = await this.console.waitFor(RESCUE_SHELL.pattern, {
      deadline,
      failOn: DEFAULT_FAIL_PATTERNS.filter((p) => p.name === 'kernel-panic'),
      exited: this.machine.exited,
      what: `${name}: ${RESCUE_SHELL.label}`,
    });
    this.rescue = { stage: RESCUE_SHELL.id, label: RESCUE_SHELL.label, t: Math.round(m.t), budgetMs: Math.round(deadline.totalMs), line: m.line.text };
    this.emit(this.rescue);
    return this.rescue;
  }

  /** Calls `listener` with each stage as it is seen (and dracut's shell); returns its removal. */
  onStage(listener: (mark: StageMark) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How the last boot failed, if it did. */
  get failed(): BootFailure | undefined {
    return this.failure;
  }

  get inRescueShell(): boolean {
    return this.rescue !== undefined;
  }

  /** Every stage of the last boot followed was seen (a boot followed up to a stage is whole once there). */
  get whole(): boolean {
    return !this.failure && this.marks.length === (this.followed ?? this.stages.length);
  }

  /** Every stage of a whole boot was seen. */
  get up(): boolean {
    return this.marks.length > 0 && this.marks.length === this.stages.length;
  }

  /** The IPv4 address the firmware's DHCP got, from the marks. */
  get leaseIp(): string | undefined {
    const dhcp = this.marks.find((s) => s.stage === 'dhcp');
    return dhcp ? leaseIpOf(dhcp.line) : undefined;
  }

  private emit(mark: StageMark): void {
    for (const l of this.listeners) l(mark);
  }
}

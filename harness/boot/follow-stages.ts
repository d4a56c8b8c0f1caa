import { performance } from 'node:perf_hooks';
import type { Deadline } from '../common/deadline';
import { BootStageError, ConsoleWaitError, HarnessError } from '../common/errors';
import { log } from '../common/log';
import type { FailPattern, StartedQemuMachine } from '../qemu-ts-wrapper';
import type { PointMark, StageMark } from '../results/types';
import { BOOT_FAIL_PATTERNS, type PointDef, type StageDef } from './stages';

const debug = log('boot');

/** What following a boot needs of a started machine (a StartedQemuMachine has it all). */
export type StageSource = Pick<StartedQemuMachine, 'name' | 'console' | 'exited' | 'startedAt' | 'isRunning'>;

export interface FollowStagesOptions {
  /** The whole boot's deadline; each stage gets a child of it. */
  deadline: Deadline;
  /** A stage's budget in ms on this host (its budgetS scaled by the host speed factor). */
  budgetMs: (stage: StageDef) => number;
  /** Marks are pushed here as they are seen, so a failed boot keeps what it reached. */
  marks?: StageMark[];
  /** Rejects when the boot must end for a reason the console cannot show (the lab watch). */
  abort?: Promise<never>;
  /** True while the caller stops the machine: its exit is then not "killed from outside". */
  stopping?: () => boolean;
  /** The console log file, named in the error's hint. */
  consoleLogFile: string;
  /** Told which stage failed and why, before the error is thrown. */
  onFailure?: (stage: StageDef, detail: string) => void;
  /** Told of each stage as it is seen (after it is pushed to `marks`). */
  onMark?: (mark: StageMark) => void;
  /** Points inside the stages (bootPoints): each is looked for in its stage's span once the stage is marked. */
  points?: readonly PointDef[];
  /** Where the points found are pushed, in console order. */
  pointMarks?: PointMark[];
}

/**
 * The points of `stage` in the console lines after line `from` and before line `to` (its
 * own mark's): the first line each point's pattern matches. A point not printed is absent.
 */
export function findPoints(lines: (index: number) => { t: number; text: string } | undefined, from: number, to: number, stage: string, points: readonly PointDef[]): PointMark[] {
  const wanted = points.filter((p) => p.stage === stage);
  const found: PointMark[] = [];
  for (let i = from + 1; i < to && found.length < wanted.length; i++) {
    const line = lines(i);
    if (!line) continue;
    for (const p of wanted) {
      if (found.some((f) => f.point === p.id) || !p.pattern.test(line.text)) continue;
      found.push({ point: p.id, label: p.label, stage, t: Math.round(line.t), line: line.text });
    }
  }
  return found;
}

/**
 * Follows a boot on a machine's console through `stages` in order, stamping each (ms
 * since QEMU start). A stage that does not come within its budget, a boot failure
 * pattern, a later stage seen first, or QEMU exiting ends it with a BootStageError
 * naming the stage; QEMU killed by a signal nobody sent is a HarnessError; whatever
 * `abort` rejects with is rethrown as it is.
 */
export async function followStages(machine: StageSource, stages: StageDef[], opts: FollowStagesOptions): Promise<StageMark[]> {
  const marks = opts.marks ?? [];
  // A stage is stamped as soon as its pattern shows, maybe before its line is complete:
  // each mark's line is brought up to the whole line as more of the console comes.
  const lineOf = new Map<StageMark, number>();
  const wholeLines = (): void => {
    for (const [mark, index] of lineOf) {
      const now = machine.console.line(index)?.text;
      if (now !== undefined && now.length > mark.line.length && now.startsWith(mark.line)) mark.line = now;
    }
  };
  // The console line of the previous stage's mark: a stage's points lie after it.
  let prevLine: number | undefined;
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i] as StageDef;
    const later: FailPattern[] = stages.slice(i + 1).map((s) => ({ name: `${s.label} came before ${stage.label}`, pattern: s.pattern }));
    const d = opts.deadline.child(opts.budgetMs(stage), `${machine.name}: ${stage.label}`);
    try {
      const wait = machine.console.waitFor(stage.pattern, { deadline: d, failOn: [...BOOT_FAIL_PATTERNS, ...later], exited: machine.exited });
      const m = await (opts.abort ? Promise.race([wait, opts.abort]) : wait);
      const mark = { stage: stage.id, label: stage.label, t: Math.round(m.t), budgetMs: Math.round(d.totalMs), line: m.line.text };
      wholeLines();
      marks.push(mark);
      lineOf.set(mark, m.line.index);
      if (opts.points && prevLine !== undefined) {
        opts.pointMarks?.push(...findPoints((index) => machine.console.line(index), prevLine, m.line.index, stage.id, opts.points));
      }
      prevLine = m.line.index;
      opts.onMark?.(mark);
      debug('%s: %s at %s s', machine.name, stage.label, (m.t / 1000).toFixed(1));
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      opts.onFailure?.(stage, detail);
      // The lab broke (bridge gone, server gone): that error, not a boot failure.
      if (!(e instanceof ConsoleWaitError)) throw e;
      const killed = await killedFromOutside(machine, opts.stopping?.() ?? false);
      if (killed) {
        throw new HarnessError(`QEMU for ${machine.name} was killed from outside (${killed}) at stage ${stage.label}`, {
          hint: `console log: ${opts.consoleLogFile}`,
          cause: e,
        });
      }
      throw new BootStageError({
        stage: `${stage.label} (${stage.id})`,
        elapsedMs: Math.round(performance.now() - machine.startedAt),
        consoleTail: machine.console.tail(40),
        detail: firstLine(detail) + (e.reason === 'timeout' ? ` (budget ${Math.round(d.totalMs / 1000)} s)` : ''),
        hint: `console log: ${opts.consoleLogFile}`,
        cause: e,
      });
    }
  }
  wholeLines();
  return marks;
}

/** A signal that ended QEMU while nobody was stopping it, e.g. 'SIGKILL', or null. */
async function killedFromOutside(machine: StageSource, stopping: boolean): Promise<string | null> {
  if (stopping || machine.isRunning()) return null;
  const status = await machine.exited;
  return status.signal ?? null;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

import { CLIENT_MEMORY_MB } from '../client/client-memory';
import { spawn } from 'node:child_process';
import { hostId } from '../gate/host-id';
import type { ThinClient } from '../boot/thin-client';
import { labScript } from '../common/paths';
import { testDelayArg } from '../boot/test-delay';
import { baselinePath, baselinesDir, loadBaseline, shownPath } from '../gate/baseline';
import { bootRound, judgeWithRetries } from '../gate/gated-boot';
import { judgeBoots, regressedStages } from '../gate/judge';
import { DEFAULT_GATE_POLICY } from '../gate/policy';
import type { BootConfig, BootSample, GateVerdict } from '../gate/types';
import { baselineProfile } from '../results/baseline';
import { DEFAULT_CLIENT_SPEC } from '../client/client-spec';
import type { StartedLab } from '../lab/lab';
import type { BenchCase, CaseRun } from './case-run';
import { withLab } from './lab-boots';

/** The issue's count: the unchanged stack must pass this many gated runs in a row. */
export const UNCHANGED_RUNS = 10;
/** Injected delays, seconds per stage, largest first: the issue's 20 s and 8 s, then down past the 3 s absolute slack (policy.ts), which must slip through. */
export const DELAY_LADDER: Readonly<Record<string, readonly number[]>> = { nbd: [20, 8, 6, 4], union: [8, 6, 4, 3] };

/** What a gated run of a delayed boot should say: a regression that names the delayed stage. */
export interface DelayedRun {
  stage: string;
  seconds: number;
  verdict: GateVerdict;
}

export const caught = (r: DelayedRun): boolean => r.verdict.verdict === 'regression' && regressedStages(r.verdict).includes(r.stage);

export interface GateBenchSummary {
  runs: number;
  falseAlarms: number;
  inconclusive: number;
  passes: number;
  /** The smallest delay caught at every stage, with every larger delay tried caught too; undefined when none is. */
  smallestReliable?: number;
}

/** Pure; tested. */
export function summarizeGate(unchanged: readonly GateVerdict[], delayed: readonly DelayedRun[]): GateBenchSummary {
  const count = (v: GateVerdict['verdict']): number => unchanged.filter((u) => u.verdict === v).length;
  const sizes = [...new Set(delayed.map((d) => d.seconds))].sort((a, b) => b - a);
  let smallest: number | undefined;
  for (const s of sizes) {
    if (!delayed.filter((d) => d.seconds >= s).every(caught)) break;
    // Reliable at s only when every stage was tried at s.
    const stages = new Set(delayed.map((d) => d.stage));
    if ([...stages].every((st) => delayed.some((d) => d.stage === st && d.seconds === s))) smallest = s;
  }
  return { runs: unchanged.length, falseAlarms: count('regression'), inconclusive: count('inconclusive'), passes: count('pass'), ...(smallest === undefined ? {} : { smallestReliable: smallest }) };
}

/** Runs `fn` over the items, `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

const DEFAULT_CONFIG: BootConfig = { memoryMb: CLIENT_MEMORY_MB.default, nic: 'virtio-net-pci', client: DEFAULT_CLIENT_SPEC };

/**
 * One gated run, as `./lab boot --compare` judges a client: a boot, then up to k more
 * while it looks slower, judged on the median. Boots one client at a time; two lanes
 * keep two guests on the two cores, as the baseline had.
 */
async function gatedRun(lab: StartedLab, name: string, configure: (c: ThinClient) => ThinClient): Promise<{ verdict: GateVerdict; samples: BootSample[] }> {
  const profile = baselineProfile(lab.speed, DEFAULT_CONFIG.client);
  const dir = baselinesDir();
  const baseline = loadBaseline(profile, dir);
  const boot = async (round: number) => (await bootRound(lab, 1, `${name}${String.fromCharCode(97 + round)}-`, configure)).samples;
  return judgeWithRetries({
    first: await boot(0),
    retries: DEFAULT_GATE_POLICY.retries,
    judge: (samples) => judgeBoots({ profile, baseline, baselineFile: shownPath(baselinePath(profile, dir)), samples, config: DEFAULT_CONFIG, host: hostId() }),
    bootMore: boot,
  });
}

/**
 * A second lab booting one client over and over, as a CI runner that takes two jobs at
 * once has it: its own ./lab process (harness), server container, NBD server and guest.
 */
const SECOND_LAB_MIN_MS = 5000;

export class SecondLab {
  private pid: number | undefined;
  private stopped = false;
  readonly codes: (number | null)[] = [];
  private readonly loop: Promise<void>;

  constructor() {
    this.loop = (async () => {
      while (!this.stopped) {
        const t0 = performance.now();
        const child = spawn(labScript(), ['boot'], { stdio: 'ignore', detached: true });
        this.pid = child.pid;
        this.codes.push(await new Promise<number | null>((done) => child.on('close', (code) => done(code))));
        // A lab that cannot start at all must not spin.
        if (performance.now() - t0 < SECOND_LAB_MIN_MS) await new Promise((r) => setTimeout(r, SECOND_LAB_MIN_MS));
      }
    })();
  }

  /** Stops the boot under way as Ctrl-C would (its lab tears itself down) and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGINT');
      } catch {
        /* ended meanwhile */
      }
    }
    await this.loop;
  }
}

/** The delay tried beside a second lab: the issue's, which the gate must still catch there (or call inconclusive, with the reason). */
export const BESIDE_DELAY = { stage: 'nbd', seconds: 20 };

const short = (v: GateVerdict): string => `${v.verdict}${v.verdict === 'pass' ? '' : `: ${v.reason}`}`;

export const gateCase: BenchCase = {
  name: 'gate',
  title: `regression gate: ${UNCHANGED_RUNS} gated runs of the unchanged stack (false alarms), then injected delays (smallest caught), then ${UNCHANGED_RUNS} gated runs and a ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s run beside a second booting lab; --runs does not apply`,
  metrics: [],
  async run(c: CaseRun): Promise<void> {
    await withLab(c, async (lab) => {
      const unchanged: GateVerdict[] = [];
      // Every boot judged, for whoever re-judges them under another policy.
      const recorded: { run: string; verdict: GateVerdict['verdict']; samples: BootSample[] }[] = [];
      const lanes = DEFAULT_GATE_POLICY.clientsAtOnce;
      await inLanes(Array.from({ length: UNCHANGED_RUNS }, (_, i) => i + 1), lanes, async (run) => {
        const r = await c.attempt(run, `unchanged run ${run}`, () => gatedRun(lab, `u${run}`, (b) => b));
        if (!r) return;
        const v = r.verdict;
        unchanged.push(v);
        recorded.push({ run: `unchanged ${run}`, verdict: v.verdict, samples: r.samples });
        c.progress(`unchanged run ${run}: ${short(v)}`);
      });
      const delays = Object.entries(DELAY_LADDER).flatMap(([stage, secs]) => secs.map((seconds) => ({ stage, seconds })));
      const delayed: DelayedRun[] = [];
      await inLanes(delays, lanes, async (d, i) => {
        const r = await c.attempt(i + 1, `${d.stage} +${d.seconds} s`, () => gatedRun(lab, `d${i + 1}`, (b) => b.withAppend(testDelayArg([d]))));
        if (!r) return;
        const v = r.verdict;
        recorded.push({ run: `${d.stage} +${d.seconds} s`, verdict: v.verdict, samples: r.samples });
        delayed.push({ ...d, verdict: v });
        c.progress(`${d.stage} +${d.seconds} s: ${caught({ ...d, verdict: v }) ? 'CAUGHT' : 'missed'}: ${short(v)}`);
      });
      const { recorded: besideRecorded, ...beside } = await besideLane(c, lab, UNCHANGED_RUNS);
      const s = summarizeGate(unchanged, delayed);
      c.notes.push(`false alarms: ${s.falseAlarms} of ${s.runs} gated runs of the unchanged stack (${s.passes} pass, ${s.inconclusive} inconclusive)`);
      c.notes.push(`smallest delay reliably caught: ${s.smallestReliable === undefined ? 'none' : `${s.smallestReliable} s`} (caught at every stage tried, as was every larger delay)`);
      c.tables.push({
        title: 'unchanged stack, gated',
        header: ['run', 'verdict', 'total s', 'reason'],
        rows: unchanged.map((v, i) => [String(i + 1), v.verdict, ((v.stages.at(-1)?.measuredMs ?? 0) / 1000).toFixed(1), v.reason]),
      });
      c.tables.push({
        title: 'injected delays, gated',
        header: ['stage', 'delay s', 'caught', 'stages named', 'verdict'],
        rows: [...delayed].sort((a, b) => a.stage.localeCompare(b.stage) || b.seconds - a.seconds).map((d) => [d.stage, String(d.seconds), caught(d) ? 'yes' : 'NO', regressedStages(d.verdict).join(' ') || '-', d.verdict.verdict]),
      });
      c.details.push({ summary: s, unchanged, delayed, beside, recorded: [...recorded, ...besideRecorded] });
    });
  },
};

/** What the lane beside a second lab measured. */
interface BesideLane {
  summary: GateBenchSummary;
  unchanged: GateVerdict[];
  delayed?: DelayedRun;
  secondLabCodes: (number | null)[];
  recorded: { run: string; verdict: GateVerdict['verdict']; samples: BootSample[] }[];
}

/**
 * `runs` gated runs of the unchanged stack and one with the issue's nbd +20 s, while a
 * second lab boots beside: one client here and one there, two guests in all as the
 * baseline had, but two servers and two harnesses. Its note, table and figures go into `c`.
 */
async function besideLane(c: CaseRun, lab: StartedLab, runs: number): Promise<BesideLane> {
  const second = new SecondLab();
  const besideRuns: GateVerdict[] = [];
  const recorded: BesideLane['recorded'] = [];
  let besideDelayed: DelayedRun | undefined;
  try {
    for (let run = 1; run <= runs; run++) {
      const r = await c.attempt(run, `beside a second lab: unchanged run ${run}`, () => gatedRun(lab, `s${run}`, (b) => b));
      if (!r) continue;
      besideRuns.push(r.verdict);
      recorded.push({ run: `beside ${run}`, verdict: r.verdict.verdict, samples: r.samples });
      c.progress(`beside a second lab: unchanged run ${run}: ${short(r.verdict)}`);
    }
    const r = await c.attempt(runs + 1, `beside a second lab: ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s`, () => gatedRun(lab, 'sd', (b) => b.withAppend(testDelayArg([BESIDE_DELAY]))));
    if (r) {
      besideDelayed = { ...BESIDE_DELAY, verdict: r.verdict };
      recorded.push({ run: `beside ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s`, verdict: r.verdict.verdict, samples: r.samples });
      c.progress(`beside a second lab: ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s: ${caught(besideDelayed) ? 'CAUGHT' : 'missed'}: ${short(r.verdict)}`);
    }
  } finally {
    await second.stop();
  }
  const sb = summarizeGate(besideRuns, besideDelayed ? [besideDelayed] : []);
  c.notes.push(`beside a second booting lab (${second.codes.length} of its boots, exit codes ${[...new Set(second.codes)].join(' ')}): false alarms: ${sb.falseAlarms} of ${sb.runs} gated runs of the unchanged stack (${sb.passes} pass, ${sb.inconclusive} inconclusive); ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s: ${besideDelayed ? `${caught(besideDelayed) ? 'caught' : besideDelayed.verdict.verdict}` : 'not measured'}`);
  c.tables.push({
    title: 'unchanged stack, gated, beside a second booting lab',
    header: ['run', 'verdict', 'total s', 'reason'],
    rows: besideRuns.map((v, i) => [String(i + 1), v.verdict, ((v.stages.at(-1)?.measuredMs ?? 0) / 1000).toFixed(1), v.reason]),
  });
  return { summary: sb, unchanged: besideRuns, ...(besideDelayed ? { delayed: besideDelayed } : {}), secondLabCodes: second.codes, recorded };
}

/** The gate case's lane beside a second lab alone, --runs times (default 3): the quick look at what a CI runner taking two jobs does to the gate. */
export const gateBesideCase: BenchCase = {
  name: 'gate-beside',
  title: `regression gate beside a second booting lab: N gated runs of the unchanged stack (false alarms) and a ${BESIDE_DELAY.stage} +${BESIDE_DELAY.seconds} s run (qslot 2)`,
  metrics: [],
  async run(c: CaseRun): Promise<void> {
    await withLab(c, async (lab) => {
      const beside = await besideLane(c, lab, c.runs);
      c.details.push({ beside });
    });
  },
};

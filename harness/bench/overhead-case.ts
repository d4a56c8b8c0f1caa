import { resolve } from 'node:path';
import { bootBudgetMs, bootStages } from '../boot/stages';
import { budgetMs } from '../common/budgets';
import { HarnessError, SutError } from '../common/errors';
import { labScript } from '../common/paths';
import { stepDeadline } from '../common/run-deadline';
import { buildImages } from '../images/image-set';
import { formatValue } from './bench-table';
import type { BenchCase, CaseRun } from './case-run';
import { spread } from '../common/spread';
import { runTimed, type TimedLine, type TimedRun } from './timed-command';

/** ./lab at the repo root. */
export const LAB_SCRIPT = labScript();

const ISSUE = 'issue 5';

/** What `./lab boot --json` prints (the part the bench reads). */
interface BootJson {
  runId: string;
  ok: boolean;
  clients: { client: string; ok: boolean; qemuSpawnedAt?: number; loginSeenAt?: number }[];
}

/** Where a run's overhead goes, from the stamps of the child's stderr lines (epoch ms). */
export interface OverheadSplit {
  in: number;
  out: number;
  /** spawn → the first build progress line: ./lab's set-up checks, node start, docker check, reaping, recipe hashing. */
  toBuild?: number;
  /** first build line → "manifest: done": the warm image build. */
  build?: number;
  /** build done → QEMU spawn: network, client start (the server container starts beside the client). */
  toQemu?: number;
  /** login → "lab: done": report, then QEMU, server and network torn down. */
  teardown?: number;
  /** "lab: done" → exit. */
  exit?: number;
}

/** Splits one `./lab boot` run's overhead at the lines it prints. Pure; tested. */
export function overheadSplit(spawnedAt: number, exitedAt: number, qemuSpawnedAt: number, loginSeenAt: number, stderr: readonly TimedLine[]): OverheadSplit {
  const first = stderr.find((l) => /^\[ltsp-lab build\s+\d+s\]/.test(l.text));
  const built = stderr.find((l) => /^\[ltsp-lab build\s+\d+s\] manifest: done/.test(l.text));
  const done = stderr.find((l) => /^lab: done in /.test(l.text));
  return {
    in: qemuSpawnedAt - spawnedAt,
    out: exitedAt - loginSeenAt,
    ...(first ? { toBuild: first.at - spawnedAt } : {}),
    ...(first && built ? { build: built.at - first.at } : {}),
    ...(built ? { toQemu: qemuSpawnedAt - built.at } : {}),
    ...(done ? { teardown: done.at - loginSeenAt, exit: exitedAt - done.at } : {}),
  };
}

/** `./lab boot --json` parsed, or a SutError/HarnessError that says what went wrong. */
function bootJson(r: TimedRun): BootJson {
  const tail = r.stderr.slice(-15).map((l) => l.text).join('\n');
  let j: BootJson;
  try {
    j = JSON.parse(r.stdout) as BootJson;
  } catch {
    throw new HarnessError(`./lab boot --json exited ${r.code} without JSON on stdout\n${tail}`);
  }
  if (r.code !== 0 || !j.ok) throw new SutError(`./lab boot --json exited ${r.code} (ok: ${j.ok})\n${tail}`);
  return j;
}

/**
 * From `./lab boot` starting to its QEMU spawn, and from login seen to the process
 * gone, timed from outside with a warm image cache.
 */
export const overheadCase: BenchCase = {
  name: 'overhead',
  title: 'harness overhead of ./lab boot --json with a warm cache, timed from outside',
  metrics: [
    { id: 'in', label: 'overhead in: ./lab boot spawned → QEMU spawned', unit: 's', target: { max: 3, source: ISSUE } },
    { id: 'out', label: 'overhead out: login seen → ./lab boot exited', unit: 's', target: { max: 3, source: ISSUE } },
    { id: 'login', label: 'QEMU spawned → login seen (for scale)', unit: 's' },
    { id: 'total', label: './lab boot, whole', unit: 's' },
  ],
  async run(c: CaseRun): Promise<void> {
    const warm = await c.attempt(0, 'warm the image cache', () => buildImages({ deadline: stepDeadline(budgetMs('imageBuild'), 'image build before the overhead case') }));
    if (!warm) return;
    // The boot's own budget, plus the lab's start (the server, a warm build check).
    const bootMs = bootBudgetMs(bootStages(), c.ctx.speed) + budgetMs('labStartWarm');
    const splits: OverheadSplit[] = [];
    for (let run = 1; run <= c.runs; run++) {
      c.sampleContention();
      const dir = resolve(c.ctx.dir, 'overhead', `r${run}`);
      const r = await c.attempt(run, './lab boot --json', async () => {
        const timed = await runTimed(LAB_SCRIPT, ['boot', '--json', '--report', dir], {
          name: './lab boot',
          deadline: stepDeadline(bootMs, `./lab boot (overhead run ${run})`),
        });
        const j = bootJson(timed);
        const cl = j.clients[0];
        if (cl?.qemuSpawnedAt === undefined || cl.loginSeenAt === undefined) {
          throw new HarnessError('./lab boot --json has no qemuSpawnedAt/loginSeenAt for its client');
        }
        return { timed, qemuSpawnedAt: cl.qemuSpawnedAt, loginSeenAt: cl.loginSeenAt, childRun: j.runId };
      });
      if (!r) continue;
      const split = overheadSplit(r.timed.spawnedAt, r.timed.exitedAt, r.qemuSpawnedAt, r.loginSeenAt, r.timed.stderr);
      splits.push(split);
      c.metrics.add('in', split.in / 1000);
      c.metrics.add('out', split.out / 1000);
      c.metrics.add('login', (r.loginSeenAt - r.qemuSpawnedAt) / 1000);
      c.metrics.add('total', (r.timed.exitedAt - r.timed.spawnedAt) / 1000);
      c.progress(`run ${run}/${c.runs}: in ${formatValue(split.in / 1000, 's')} s, out ${formatValue(split.out / 1000, 's')} s`);
      c.details.push({
        run,
        childRun: r.childRun,
        spawnedAt: r.timed.spawnedAt,
        qemuSpawnedAt: r.qemuSpawnedAt,
        loginSeenAt: r.loginSeenAt,
        exitedAt: r.timed.exitedAt,
        split,
        stderr: r.timed.stderr.map((l) => ({ t: l.at - r.timed.spawnedAt, text: l.text })),
      });
    }
    const med = (k: keyof OverheadSplit): string => {
      const v = spread(splits.map((x) => x[k]).filter((x): x is number => x !== undefined))?.median;
      return formatValue(v === undefined ? undefined : v / 1000, 's');
    };
    c.tables.push({
      title: 'where the overhead goes (medians over the runs, s; cut at the lines ./lab boot prints)',
      header: ['part', 's'],
      rows: [
        ['in: spawn → first build line (./lab set-up checks, node start, host speed calibration, docker check, reap, recipe hashing)', med('toBuild')],
        ['in: first build line → build done (warm build)', med('build')],
        ['in: build done → QEMU spawned (network, client start; the server container starts beside the client)', med('toQemu')],
        ['out: login → "lab: done" (report, QEMU quit, server and network torn down)', med('teardown')],
        ['out: "lab: done" → exit', med('exit')],
      ],
    });
  },
};

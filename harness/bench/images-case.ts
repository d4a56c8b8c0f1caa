import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../common/errors';
import { execCommand } from '../common/exec';
import { budgetMs } from '../common/budgets';
import { stepDeadline } from '../common/run-deadline';
import { buildImages, cacheDir, imageKeys, VM_IMAGES_DIR, type ImageManifest } from '../images/image-set';
import { formatValue } from './bench-table';
import { buildStepOutcomes, unexpectedOutcomes, type BuildStep, type StepOutcome } from './build-steps';
import type { BenchCase, CaseRun } from './case-run';

const ISSUE = 'issue 5';
const BUILD_BUDGET_MS = budgetMs('imageBuild');
const ALL_CACHED: Record<BuildStep, StepOutcome> = { base: 'cached', server: 'cached', root: 'cached', initramfs: 'cached' };
const ALL_BUILT: Record<BuildStep, StepOutcome> = { base: 'built', server: 'built', root: 'built', initramfs: 'built' };
const MODULE_ONLY: Record<BuildStep, StepOutcome> = { ...ALL_CACHED, initramfs: 'built' };

/** The dracut module's hook: the file a module-only change touches. */
const MODULE_FILE = join('client', 'dracut', '90ltsp-union', 'ltsp-union.sh');

interface TimedBuild {
  seconds: number;
  steps: Record<BuildStep, StepOutcome>;
  manifest: ImageManifest;
}

/** One build.sh run, timed from spawn to exit, with what each step did. */
async function timedBuild(c: CaseRun, run: number, what: string, want: Record<BuildStep, StepOutcome>, opts: { dir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TimedBuild> {
  const lines: string[] = [];
  const t0 = performance.now();
  const manifest = await buildImages({
    deadline: stepDeadline(BUILD_BUDGET_MS, `${what} (bench run ${run})`),
    onProgress: (l) => lines.push(l),
    ...(opts.dir ? { dir: opts.dir } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const steps = buildStepOutcomes(lines);
  for (const u of unexpectedOutcomes(steps, want)) c.notes.push(`run ${run}, ${what}: ${u}`);
  c.progress(`run ${run}/${c.runs}: ${what}: ${formatValue(seconds, 's')} s`);
  c.details.push({ run, what, seconds, steps });
  return { seconds, steps, manifest };
}

const keysDeadline = (): ReturnType<typeof stepDeadline> => stepDeadline(budgetMs('imageKeys'), 'vm-images/build.sh --keys');

/** Makes the real cache warm, untimed, so the first timed warm build is a no-op too. */
async function warmUp(c: CaseRun): Promise<boolean> {
  const m = await c.attempt(0, 'warm-up build', () => buildImages({ deadline: stepDeadline(BUILD_BUDGET_MS, 'warm-up build') }));
  return m !== undefined;
}

/** The real cache, which every other build of the run relies on. */
async function warmBuild(c: CaseRun, run: number): Promise<TimedBuild> {
  return timedBuild(c, run, 'warm build', ALL_CACHED);
}

/**
 * Everything from nothing: keys salted (LTSP_LAB_KEY_SALT) so no docker image is
 * reused, into an empty temporary cache. The salted images and the cache go after.
 */
export async function coldBuild(c: CaseRun, run: number): Promise<TimedBuild> {
  const salt = `bench-${c.ctx.runId}-r${run}`;
  const real = await imageKeys({ deadline: keysDeadline() });
  const salted = await imageKeys({ deadline: keysDeadline(), env: { LTSP_LAB_KEY_SALT: salt } });
  const clash = Object.values(salted).filter((k) => Object.values(real).includes(k));
  if (clash.length > 0) throw new HarnessError(`salted keys equal real ones (${clash.join(', ')}): LTSP_LAB_KEY_SALT is not mixed into every key`);
  // Children before the base they are built on, so removing each prunes its layers.
  const tags = [`ltsp-lab/server:${salted.server}`, `ltsp-lab/client-root:${salted.root}`, `ltsp-lab/base:${salted.base}`];
  const cache = mkdtempSync(join(tmpdir(), 'ltsp-lab-bench-cold-'));
  try {
    return await timedBuild(c, run, 'cold build', ALL_BUILT, { env: { LTSP_LAB_KEY_SALT: salt, LTSP_LAB_CACHE: cache } });
  } finally {
    const d = stepDeadline(budgetMs('removeColdBuild'), 'remove the cold build');
    for (const tag of tags) await execCommand('docker', ['image', 'rm', '-f', tag], { deadline: d, allowFailure: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

/**
 * A comment appended to the dracut module's hook in a copy of vm-images/, built with
 * the real cache: base, server and root are reused and the initramfs is rebuilt. The new
 * initramfs is deleted after, and the real manifest put back by a warm build.
 */
export async function moduleBuild(c: CaseRun, run: number): Promise<TimedBuild> {
  const tmp = mkdtempSync(join(tmpdir(), 'ltsp-lab-bench-module-'));
  const dir = join(tmp, 'vm-images');
  let newInitramfs: string | undefined;
  try {
    await execCommand('cp', ['-a', VM_IMAGES_DIR, dir], { deadline: stepDeadline(budgetMs('copyRecipes'), 'copy vm-images/') });
    appendFileSync(join(dir, MODULE_FILE), `\n# ltsp-lab bench ${c.ctx.runId} run ${run}: a change to the dracut module only\n`);
    const real = await imageKeys({ deadline: keysDeadline() });
    const keys = await imageKeys({ deadline: keysDeadline(), dir });
    const moved = (['base', 'server', 'root'] as const).filter((k) => keys[k] !== real[k]);
    if (moved.length > 0 || keys.initramfs === real.initramfs) {
      throw new HarnessError(`a change to ${MODULE_FILE} moved the keys of ${moved.join(', ') || 'nothing'}; only the initramfs key should move`);
    }
    newInitramfs = join(cacheDir(), `initramfs-${keys.initramfs}`);
    return await timedBuild(c, run, 'module-only rebuild', MODULE_ONLY, { dir });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (newInitramfs) {
      rmSync(newInitramfs, { recursive: true, force: true });
      // build.sh wrote the copy's manifest over the real cache's one.
      await buildImages({ deadline: stepDeadline(BUILD_BUDGET_MS, 'warm build to restore the manifest') });
    }
  }
}

export const imagesCase: BenchCase = {
  name: 'images',
  title: 'vm-images/build.sh: cold (salted keys, empty cache), warm (no-op), and after a change to the dracut module only',
  metrics: [
    { id: 'cold', label: 'cold build (everything, from an empty cache)', unit: 's' },
    { id: 'warm', label: 'warm build (no-op)', unit: 's', target: { max: 5, source: ISSUE } },
    { id: 'module', label: 'module-only rebuild (initramfs)', unit: 's', target: { max: 90, source: ISSUE } },
  ],
  async run(c: CaseRun): Promise<void> {
    if (!(await warmUp(c))) return;
    for (let run = 1; run <= c.runs; run++) {
      c.metrics.add('warm', (await c.attempt(run, 'warm build', () => warmBuild(c, run)))?.seconds);
      c.metrics.add('module', (await c.attempt(run, 'module-only rebuild', () => moduleBuild(c, run)))?.seconds);
      c.metrics.add('cold', (await c.attempt(run, 'cold build', () => coldBuild(c, run)))?.seconds);
    }
  },
};

/** The quick check ./lab test runs: a warm build, a few times. */
export const imagesWarmCase: BenchCase = {
  name: 'images-warm',
  title: 'vm-images/build.sh with a warm cache (no-op)',
  metrics: [{ id: 'warm', label: 'warm build (no-op)', unit: 's', target: { max: 5, source: ISSUE } }],
  async run(c: CaseRun): Promise<void> {
    if (!(await warmUp(c))) return;
    for (let run = 1; run <= c.runs; run++) {
      c.metrics.add('warm', (await c.attempt(run, 'warm build', () => warmBuild(c, run)))?.seconds);
    }
  },
};

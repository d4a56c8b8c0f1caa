/** The artefacts vm-images/build.sh makes, in build order. */
export const BUILD_STEPS = ['base', 'server', 'root', 'initramfs'] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

/** cached: reused; built: the step did work; absent: it printed nothing. */
export type StepOutcome = 'cached' | 'built' | 'absent';

const PROGRESS = /^\[ltsp-lab build\s+\d+s\] ([a-z-]+): (.*)$/;

/** What each step of a build did, read from build.sh's progress lines ("[ltsp-lab build 3s] base: cached ..."). */
export function buildStepOutcomes(lines: readonly string[]): Record<BuildStep, StepOutcome> {
  const out = Object.fromEntries(BUILD_STEPS.map((s) => [s, 'absent'])) as Record<BuildStep, StepOutcome>;
  for (const line of lines) {
    const m = PROGRESS.exec(line);
    const step = m?.[1] as BuildStep | undefined;
    if (!m || !step || !(BUILD_STEPS as readonly string[]).includes(step)) continue;
    if (/^cached /.test(m[2] as string)) {
      if (out[step] === 'absent') out[step] = 'cached';
    } else {
      out[step] = 'built';
    }
  }
  return out;
}

/** Steps whose outcome is not the expected one, as "server: built (expected cached)". */
export function unexpectedOutcomes(got: Record<BuildStep, StepOutcome>, want: Record<BuildStep, StepOutcome>): string[] {
  return BUILD_STEPS.filter((s) => got[s] !== want[s]).map((s) => `${s}: ${got[s]} (expected ${want[s]})`);
}

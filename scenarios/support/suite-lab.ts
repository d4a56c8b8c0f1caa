import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, stepDeadline, type StageMark, type StartedLab, type StartedThinClient } from '../../harness/index';
import { suiteReportDir, testReportDir } from './report-dir';

/** Build progress, without the lines that only say "cached". */
function progress(line: string): void {
  if (!/: cached |manifest: done/.test(line)) process.stderr.write(`      ${line}\n`);
}

/** Starts a lab for a suite, its report folder reports/<run>/<suite>/. */
export async function startSuiteLab(suite: Mocha.Suite, configure: (lab: Lab) => Lab = (l) => l): Promise<StartedLab> {
  return configure(new Lab().withReportDir(suiteReportDir(suite))).start({
    deadline: stepDeadline(45 * 60_000, `lab for "${suite.fullTitle()}"`),
    onProgress: progress,
  });
}

/** Starts a client with a deadline scaled to the host. */
export async function startClient(lab: StartedLab, name: string, configure: (c: ReturnType<StartedLab['client']>) => ReturnType<StartedLab['client']> = (c) => c): Promise<StartedThinClient> {
  return configure(lab.client(name)).start(stepDeadline(60_000 * lab.speed.factor, `start ${name}`));
}

/** Keeps a boot timeline as the test's timings.json. */
export function saveTimings(test: Mocha.Runnable | undefined, clients: StartedThinClient[]): void {
  if (!test) return;
  const data = clients.map((c) => c.report());
  writeFileSync(join(testReportDir(test), 'timings.json'), JSON.stringify(data, null, 2) + '\n');
}

/** Stage ids in the order they were seen. */
export function stageIds(timeline: StageMark[]): string[] {
  return timeline.map((s) => s.stage);
}

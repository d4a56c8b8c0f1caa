import { budgetMs, isIdleBuildLine, Lab, stepDeadline, type StageMark, type StartedLab, type StartedThinClient } from '../../harness/index';
import { suiteReportDir } from './report-dir';
import { noteClient, noteLab } from './run-report';

/** Build progress, without the lines that only say "cached". */
function progress(line: string): void {
  if (!isIdleBuildLine(line)) process.stderr.write(`      ${line}\n`);
}

/** Starts a lab for a suite, its report folder reports/<run>/<suite>/. */
export async function startSuiteLab(suite: Mocha.Suite, configure: (lab: Lab) => Lab = (l) => l): Promise<StartedLab> {
  const lab = await configure(new Lab().withReportDir(suiteReportDir(suite))).start({
    deadline: stepDeadline(budgetMs('labStart'), `lab for "${suite.fullTitle()}"`),
    onProgress: progress,
  });
  noteLab(lab);
  return lab;
}

/** Starts a client with a deadline scaled to the host. */
export async function startClient(lab: StartedLab, name: string, configure: (c: ReturnType<StartedLab['client']>) => ReturnType<StartedLab['client']> = (c) => c): Promise<StartedThinClient> {
  const client = await configure(lab.client(name)).start();
  // Its boots go into the results of the tests (or hooks) they happen in (support/run-report.ts).
  noteClient(client, lab);
  return client;
}

/** Stage ids in the order they were seen. */
export function stageIds(timeline: StageMark[]): string[] {
  return timeline.map((s) => s.stage);
}

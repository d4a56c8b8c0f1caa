import { join } from 'node:path';
import type { ThinClient } from '../boot/thin-client';
import { budgetMs } from '../common/budgets';
import { stepDeadline } from '../common/run-deadline';
import { Lab, type StartedLab } from '../lab/lab';
import type { ClientTimeline, StageMark } from '../results/types';
import type { CaseRun } from './case-run';

/** Build progress worth showing while a case's lab starts: not the "cached" lines. */
function buildProgress(c: CaseRun): (line: string) => void {
  return (line) => {
    if (!/: cached |manifest: done/.test(line)) c.progress(line);
  };
}

/**
 * Runs `fn` with a lab of its own (reports in reports/bench-<id>/<case>/), and stops
 * it after. A lab that does not start is the case's failure (run 0).
 */
export async function withLab(c: CaseRun, fn: (lab: StartedLab) => Promise<void>): Promise<void> {
  const lab = await c.attempt(0, 'lab start', () =>
    new Lab().withReportDir(join(c.ctx.dir, c.spec.name)).start({ deadline: stepDeadline(budgetMs('labStart'), `lab for bench case ${c.spec.name}`), onProgress: buildProgress(c) }),
  );
  if (!lab) return;
  try {
    await fn(lab);
  } finally {
    await lab.stop();
  }
}

export interface LabBoot {
  marks: StageMark[];
  /** QEMU's RSS when login was seen, KiB. */
  rssKb?: number;
  report: ClientTimeline;
}

/** Starts one client, follows it to login, and stops it; throws what the boot threw, after stopping. */
export async function bootLabClient(lab: StartedLab, name: string, configure: (c: ThinClient) => ThinClient = (c) => c): Promise<LabBoot> {
  const client = await configure(lab.client(name)).start();
  try {
    const marks = [...(await client.waitForBoot())];
    const rss = client.rssKb();
    return { marks, ...(rss === null ? {} : { rssKb: rss }), report: client.report() };
  } finally {
    await client.stop();
  }
}

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { installSignalTeardown } from '../../harness/index';
import { testReportDir, suiteReportDir } from './report-dir';
import { coreLabStopsAtEnd, stopCoreLab } from './core-lab';
import { attachRunReport } from './run-report';
import { noteRunner } from './selection';
import { checkTiers } from './tiers';

// Ctrl-C during ./lab test: stop the running labs before mocha exits (a second one forces).
installSignalTeardown();
coreLabStopsAtEnd();

/** Files under `dir`, relative to the cwd, a level or two deep. */
function artefacts(dir: string, depth = 2): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (depth > 0 && name !== 'run') out.push(...artefacts(p, depth - 1));
    } else out.push(relative(process.cwd(), p));
  }
  return out;
}

/**
 * Root hooks for the end-to-end scenarios: a failing test prints where its console
 * logs, QMP log and server log are (its own slices of them, see support/run-report.ts).
 */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const t = this.currentTest;
    if (!t || t.state !== 'failed') return;
    const files = [...artefacts(testReportDir(t)), ...(t.parent ? artefacts(suiteReportDir(t.parent), 1) : [])];
    if (files.length > 0) process.stderr.write(`\n  artefacts of "${t.fullTitle()}":\n${files.map((f) => `    ${f}`).join('\n')}\n`);
  },
  /** The core lab the files shared (support/core-lab.ts), once every file is done with it. */
  async afterAll(): Promise<void> {
    await stopCoreLab();
  },
};

/**
 * Mocha calls it with the runner as `this`, every file loaded: a test of no tier fails the
 * run before anything boots (whatever the --tier), and the run's report listens to it.
 */
export function mochaGlobalSetup(this: Mocha.Runner): void {
  checkTiers(this.suite);
  noteRunner(this);
  attachRunReport(this);
}

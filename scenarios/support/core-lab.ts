import type { StartedLab, StartedThinClient } from '../../harness/index';
import { exportFiles, ROOT_COW } from './exports';
import { noteSuiteLab } from './run-report';
import { startClient, startSuiteLab } from './suite-lab';

/*
 * The core lab: one lab, the default stack with the root-cow export beside root
 * (support/exports.ts; read-only's writable contrast), shared by every file whose clients
 * need no more of a lab than that. One mocha process starts it once, on the first file's
 * first use, and stops it in the root after-all hook (support/hooks.ts), or on a signal
 * (every started lab is in the signal teardown). A file run alone, or a shard (a process
 * of its own), starts its own.
 *
 * What keeps a file's checks its own on a shared lab:
 * - each file boots its own clients, new ones, and stops them in its `after`
 *   (release()): a client is never handed from one file to another, and when a file
 *   starts, no client of another file runs (a check that counts the lab's QEMU
 *   processes or taps counts its own);
 * - client names are unique on the lab (a name names its console log and state folder):
 *   a second file asking for a name already used is refused;
 * - a file that changes the server (restarts, stops or kills a service) keeps a lab of
 *   its own (startSuiteLab), as does one that needs other exports or server files;
 * - a file that stops the Docker daemon (lab-failures) stops the core lab first
 *   (stopCoreLab): the next file to ask starts a fresh one. Without it, every file after
 *   it found the core lab's server gone ("the LTSP server container stopped mid-run").
 */

/** The core lab's report folder: reports/<run>/core-lab/ (its server log, each client's console). */
const CORE_TITLE = 'core lab';

let starting: Promise<StartedLab> | undefined;
const used = new Set<string>();
/** Set by the root hooks (support/hooks.ts), whose after-all stops the lab: without them it would outlive the run. */
let stopsAtEnd = false;

/** The root hooks are loaded: their after-all hook calls stopCoreLab(). */
export function coreLabStopsAtEnd(): void {
  stopsAtEnd = true;
}

/** A pseudo-suite for the lab's report folder (suiteReportDir takes a suite's title). */
const coreSuite = { fullTitle: () => CORE_TITLE } as Mocha.Suite;

function theLab(): Promise<StartedLab> {
  if (!stopsAtEnd) return Promise.reject(new Error('the core lab needs the root hooks that stop it: run mocha with --require scenarios/support/hooks.ts (as ./lab test does)'));
  // A failed start is not kept: the next file tries again (and says why it failed too).
  starting ??= startSuiteLab(coreSuite, (l) => l.withServerFiles(exportFiles(ROOT_COW))).catch((e: unknown) => {
    starting = undefined;
    throw e;
  });
  return starting;
}

/** What one file (its top-level suite) has of the core lab. */
export interface CoreLabUse {
  /** The core lab, started if it is not yet. */
  lab(): Promise<StartedLab>;
  /** Starts a client of this file on the core lab; its name is this file's alone. */
  client(name: string, configure?: Parameters<typeof startClient>[2]): Promise<StartedThinClient>;
  /** Stops this file's clients (in its `after`); the lab stays up for the next file. */
  release(): Promise<void>;
}

/** The core lab as `suite` uses it: call in a describe body with its `this`. */
export function useCoreLab(suite: Mocha.Suite): CoreLabUse {
  const mine: StartedThinClient[] = [];
  const names = new Set<string>();
  return {
    async lab() {
      const lab = await theLab();
      // Each test's slice of the logs comes from the core lab's folder too (support/run-report.ts).
      noteSuiteLab(suite, lab.reportDir);
      return lab;
    },
    async client(name, configure) {
      const lab = await this.lab();
      if (used.has(name)) throw new Error(`client name '${name}' is already used on the core lab (by another file, or earlier in "${suite.fullTitle()}"): give each file's clients names of their own`);
      const others = lab.runningClients.filter((c) => !names.has(c.name));
      if (others.length > 0) throw new Error(`clients of another file still run on the core lab (${others.map((c) => c.name).join(', ')}): its after hook must release() them`);
      used.add(name);
      names.add(name);
      const c = await startClient(lab, name, configure);
      mine.push(c);
      return c;
    },
    async release() {
      await Promise.all(mine.map((c) => c.stop()));
    },
  };
}

/** Stops the core lab if this process started one (the root after-all hook). */
export async function stopCoreLab(): Promise<void> {
  const lab = await starting?.catch(() => undefined);
  starting = undefined;
  await lab?.stop();
}

import { ProcessGroup } from '../qemu-ts-wrapper';
import { log } from './log';

const debug = log('teardown');

// Every process group anything in the lab spawns: tracked while it runs, refused once a
// signal's teardown began (a group spawned then would outlive it: the teardown stops only
// what it saw).
ProcessGroup.watchSpawns({
  refuse: () => (tearingDownOn === undefined ? undefined : `the run is stopping on ${tearingDownOn}`),
  started: (g) => trackGroup(g, true),
  ended: (g) => trackGroup(g, false),
});

/** Something the harness started that must not outlive it. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

/** A process group the harness spawned: killed outright on a forced exit. */
export interface Killable {
  readonly pid: number;
  signal(sig: NodeJS.Signals): void;
}

const stoppables = new Set<Stoppable>();
const groups = new Set<Killable>();
let signals = 0;
let installed = false;
let interceptor: ((sig: NodeJS.Signals) => void) | undefined;
let tearingDownOn: NodeJS.Signals | undefined;
/** The last signal taken, and when (performance.now()). */
let lastSignal: { sig: NodeJS.Signals; at: number } | undefined;

/**
 * How soon after a signal the same one is the same delivery, twice: a process group's kill
 * reaches nyc, which forwards it to mocha, which had it already (./lab test's lanes, a
 * Ctrl-C). A person's second Ctrl-C comes later.
 */
export const REPEATED_SIGNAL_MS = 1000;

/** Whether `sig` at `at` (ms) repeats `last`: the same signal within REPEATED_SIGNAL_MS. Pure; tested. */
export function repeatsSignal(last: { sig: NodeJS.Signals; at: number } | undefined, sig: NodeJS.Signals, at: number): boolean {
  return last !== undefined && last.sig === sig && at - last.at < REPEATED_SIGNAL_MS;
}

/** The signal whose teardown is under way, if one is: what stops now was stopped, it did not fail. */
export function teardownSignal(): NodeJS.Signals | undefined {
  return tearingDownOn;
}

/** Labs (and anything else with an orderly stop) register here while they run. */
export function trackStoppable(s: Stoppable, on: boolean): void {
  if (on) stoppables.add(s);
  else stoppables.delete(s);
}

/** Every spawned process group registers here while it runs. */
export function trackGroup(g: Killable, on: boolean): void {
  if (on) groups.add(g);
  else groups.delete(g);
}

/** SIGKILL every process group the harness spawned and that still runs. */
export function killAllGroups(): number {
  let n = 0;
  for (const g of groups) {
    g.signal('SIGKILL');
    n++;
  }
  return n;
}

/** Stops everything registered, in reverse order of registration; never rejects. */
export async function stopAll(): Promise<void> {
  const all = [...stoppables].reverse();
  await Promise.allSettled(all.map((s) => s.stop()));
}

/**
 * Hands the next SIGINT or SIGTERM to `fn` instead of the teardown (a kept lab, whose
 * Ctrl-C or `./lab stop` is its normal end: the caller then tears down in order and
 * exits with the run's own code). A second signal still forces. Returns its removal.
 */
export function interceptSignal(fn: (sig: NodeJS.Signals) => void): () => void {
  interceptor = fn;
  return () => {
    if (interceptor === fn) interceptor = undefined;
  };
}

/**
 * SIGINT and SIGTERM: the first tears everything down in order (labs: clients, server,
 * network), then exits 130/143; a second one (not the first delivered twice, repeatsSignal) forces: every spawned process group is
 * SIGKILLed and the process exits at once. What a forced or SIGKILLed run leaves
 * behind is reaped by the next run (or `./lab clean`), which finds it by run id.
 */
export function installSignalTeardown(write: (s: string) => void = (s) => process.stderr.write(s)): void {
  if (installed) return;
  installed = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    const at = performance.now();
    if (repeatsSignal(lastSignal, sig, at)) {
      debug('signal %s again after %d ms: the same delivery, not a second one', sig, Math.round(at - (lastSignal?.at ?? at)));
      return;
    }
    lastSignal = { sig, at };
    signals++;
    const code = sig === 'SIGINT' ? 130 : 143;
    if (signals > 1) {
      const n = killAllGroups();
      write(`lab: second ${sig}: killed ${n} process group(s) and exiting; ./lab clean reaps the rest\n`);
      process.exit(code);
    }
    if (interceptor) {
      const fn = interceptor;
      interceptor = undefined;
      write(`lab: ${sig}: stopping (${sig} again to force)\n`);
      fn(sig);
      return;
    }
    tearingDownOn = sig;
    write(`lab: ${sig}: tearing the lab down (${sig} again to force)\n`);
    debug('signal %s: stopping %d resource(s)', sig, stoppables.size);
    void stopAll().then(() => {
      killAllGroups();
      process.exit(code);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

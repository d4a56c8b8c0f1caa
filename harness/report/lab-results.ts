import { availableParallelism } from 'node:os';
import type { StartedThinClient } from '../boot/thin-client';
import { calibrateCpu, type HostSpeed } from '../common/speed';
import { DEFAULT_CLIENT_SPEC, type ClientSpec } from '../client/client-spec';
import { baselineFacts } from '../gate/baseline';
import { baselineProfile } from '../results/baseline';
import { clientResult, hostFacts, imageFacts, loadNow } from '../results/run-facts';
import { RESULTS_SCHEMA_VERSION, type ClientResult, type ClientTimeline, type RunKind, type RunOutcome, type RunResults } from '../results/types';

/**
 * A run's results as it starts: host facts from the measured speed (or, when the lab
 * never measured one, the CPU calibration alone with the accelerator unknown), and the
 * baseline of the host's profile when the repo has one.
 */
export function startResults(kind: RunKind, runId: string, title: string, startedAt: Date, speed?: HostSpeed): RunResults {
  const results: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId,
    kind,
    title,
    startedAt: startedAt.toISOString(),
    outcome: 'interrupted',
    host: speed ? hostFacts(speed) : unmeasuredHost(),
    tests: [],
  };
  setSpeed(results, speed);
  return results;
}

/**
 * Fills in the host facts once the lab has measured them, and picks the baseline of that
 * profile for what the lab's clients boot by default (`client`: its kind's own baseline).
 */
export function setSpeed(results: RunResults, speed: HostSpeed | undefined, client: ClientSpec = DEFAULT_CLIENT_SPEC): void {
  if (!speed) return;
  const load = results.host.loadAvg1;
  results.host = { ...hostFacts(speed), loadAvg1: load };
  const baseline = baselineFacts(baselineProfile(speed, client));
  if (baseline) results.baseline = baseline;
  else delete results.baseline;
}

/** The lab's image manifest, as results.json keeps it. */
export function setImages(results: RunResults, manifest: Parameters<typeof imageFacts>[0] | undefined): void {
  if (manifest) results.images = imageFacts(manifest);
}

/** Stamps the end: outcome, exit code, finish time and the load then. */
export function finishResults(results: RunResults, outcome: RunOutcome, exitCode: number): RunResults {
  results.outcome = outcome;
  results.exitCode = exitCode;
  results.finishedAt = new Date().toISOString();
  results.host.loadAvg1End = loadNow();
  return results;
}

/**
 * A started client's result. A client stopped mid-boot (an interrupt, or another
 * client's failure ending the run) has no failure of its own: its failed stage is the
 * one it was in.
 */
export function startedClientResult(c: StartedThinClient, runDir: string, prefix = ''): ClientResult {
  const tl: ClientTimeline = c.report();
  if (!tl.ok && tl.failedStage === undefined) {
    const next = c.stages[tl.stages.length];
    if (next) tl.failedStage = next.id;
  }
  return clientResult(tl, runDir, prefix);
}

function unmeasuredHost(): RunResults['host'] {
  const { calibrationMs, cpu } = calibrateCpu();
  return {
    cores: availableParallelism(),
    accel: 'unknown',
    accelReason: 'not measured: no lab started in this run',
    speedFactor: Math.round(cpu * 100) / 100,
    calibrationMs,
    loadAvg1: loadNow(),
  };
}

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientSpec, formatVerdict, gateBoots, type BootConfig, type GateResult, type StartedLab, type StartedThinClient, type ThinClient } from '../harness/index';
import type { BootOptions } from './args';

/** A ./lab boot client as the options configure it, but for its MAC (each client has its own). */
export function configureClient(opts: BootOptions): (c: ThinClient) => ThinClient {
  return (c) => {
    // The gate's boots are all of one kind (parseBootArgs); ./lab boot sets each client's own after this.
    const b = c.boots(opts.boots[0] ?? clientSpec()).withMemory(opts.memoryMb).withNic(opts.nic).withExportName(opts.exportName);
    if (opts.rootArg) b.withRootArg(opts.rootArg);
    // An old-style server lists no exports to check a name against.
    if (opts.nbdServer === 'oldstyle') b.withExportUnchecked();
    return opts.append ? b.withAppend(opts.append) : b;
  };
}

/** What the gate compares a run's boots by. */
export function bootConfig(opts: BootOptions): BootConfig {
  return { memoryMb: opts.memoryMb, nic: opts.nic, client: opts.boots[0] ?? clientSpec() };
}

/** Beside results.json: the gate's boots as it judged them. */
export const GATE_SAMPLES_FILE = 'gate-samples.json';

/**
 * ./lab boot --compare: boots the clients while the host is watched, stops them, and
 * lets the gate judge them against the baseline, booting the same configuration again
 * when something looks slower. The verdict goes to stdout (stderr with --json).
 */
export async function compareBoots(lab: StartedLab, start: () => Promise<StartedThinClient[]>, opts: BootOptions, progress: (line: string) => void): Promise<GateResult> {
  const result = await gateBoots(lab, start, {
    clients: opts.clients,
    config: bootConfig(opts),
    configure: configureClient(opts),
    ...(opts.retries === undefined ? {} : { retries: opts.retries }),
    progress,
  });
  (opts.json ? process.stderr : process.stdout).write(`\n${formatVerdict(result.verdict)}\n`);
  // Every boot judged, with what the host did meanwhile, for whoever re-judges them under another policy.
  writeFileSync(join(lab.reportDir, GATE_SAMPLES_FILE), `${JSON.stringify({ verdict: result.verdict, samples: result.samples }, null, 1)}\n`);
  return result;
}

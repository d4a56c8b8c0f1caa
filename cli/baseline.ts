import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  baselinesDir,
  clientLabel,
  clientSpecArgv,
  DEFAULT_GATE_POLICY,
  Lab,
  loadBaseline,
  recordBaseline,
  RunContext,
  REPORTS_ROOT,
  shownPath,
  writeBaseline,
  type Baseline,
} from '../harness/index';
import { parseBaselineArgs, parseBootArgs } from './args';
import { bootConfig, configureClient } from './compare';

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function formatBaseline(b: Baseline, file: string): string {
  const sec = (ms: number): string => (ms / 1000).toFixed(1);
  const range = (v: number[]): string => `${sec(Math.min(...v))}-${sec(Math.max(...v))}`;
  const rows = [...Object.entries(b.stages), ['total', b.totalMs] as const].map(([id, m]) => {
    // What the gate compares: each boot's time less its guest's wait for a host CPU.
    const net = m.waitSamples ? m.samples.map((v, i) => v - (m.waitSamples?.[i] ?? 0)) : undefined;
    return `${id.padEnd(12)} ${sec(m.medianMs).padStart(7)} ${range(m.samples).padStart(13)}${net ? ` ${range(net).padStart(16)}` : ''}`;
  });
  return [
    `${b.profile}: ${shownPath(file)}: the ${clientLabel(b.config.client)} client, ${b.runs} boots, ${b.clientsAtOnce} at once, guest speed factor ${b.speedFactor}, other load ${b.otherLoad} cores, recorded ${b.createdAt}`,
    `${'stage'.padEnd(12)} ${'median'.padStart(7)} ${'min-max s'.padStart(13)}${b.totalMs.waitSamples ? ` ${'less CPU wait s'.padStart(16)}` : ''}`,
    ...rows,
  ].join('\n');
}

/** ./lab baseline: see BASELINE_COMMAND. */
export async function baseline(argv: string[]): Promise<number> {
  const args = parseBaselineArgs(argv);
  const dir = baselinesDir();
  if (!args.update) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      // no folder: no baselines
    }
    if (files.length === 0) process.stdout.write(`no baselines in ${shownPath(dir)}: record one with ./lab baseline --update\n`);
    for (const f of files) {
      const profile = f.replace(/\.json$/, '');
      process.stdout.write(`${formatBaseline(loadBaseline(profile, dir)!, join(dir, f))}\n\n`);
    }
    return 0;
  }
  const defaults = parseBootArgs(clientSpecArgv(args.client));
  const run = new RunContext();
  const reportDir = join(REPORTS_ROOT, `baseline-${run.id}`);
  progress(`baseline: client ${clientLabel(args.client)}`);
  const lab = await new Lab().withRunContext(run).withReportDir(reportDir).withClient(args.client).start({ onProgress: progress });
  let b: Baseline;
  try {
    progress(`baseline: ${args.runs} boots of the ${clientLabel(args.client)} client (kernel ${lab.kernelVersionFor(args.client)}), ${DEFAULT_GATE_POLICY.clientsAtOnce} at once (${lab.speed.accel}, speed factor ${lab.speed.factor}); consoles in ${reportDir}`);
    b = await recordBaseline(lab, { runs: args.runs, clientsAtOnce: DEFAULT_GATE_POLICY.clientsAtOnce, config: bootConfig(defaults), configure: configureClient(defaults), progress });
  } finally {
    await lab.stop();
  }
  const file = writeBaseline(b, dir);
  process.stdout.write(`${formatBaseline(b, file)}\n`);
  return 0;
}

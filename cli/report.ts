import { relative } from 'node:path';
import { formatReportDiff, formatTimelineTable, readRunResults, REPORT_FILES, resolveRunDir, type RunResults } from '../harness/index';
import { parseCommand, REPORT_COMMAND } from './args';
import { recordDurations } from './record-durations';
import { reportMerge } from './report-merge';

/** ./lab report: a run's timeline, or two runs' stage times side by side. */
export async function report(argv: string[]): Promise<number> {
  if (argv.includes('--merge')) return reportMerge(argv);
  const { options: o, args } = parseCommand(argv, REPORT_COMMAND);
  const run = args[0];
  const dir = resolveRunDir(run);
  const a = readRunResults(dir);
  if (o.has('record-durations')) {
    return recordDurations(a);
  }
  const against = o.get('against') as string | undefined;
  if (against !== undefined) {
    const otherDir = resolveRunDir(against);
    process.stdout.write(`${formatReportDiff(a, readRunResults(otherDir))}\n\nreports: ${shown(dir)}/${REPORT_FILES.html}  ${shown(otherDir)}/${REPORT_FILES.html}\n`);
    return 0;
  }
  process.stdout.write(`${formatRun(a)}\n\nreport: ${shown(dir)}/${REPORT_FILES.html}\n`);
  return 0;
}

function formatRun(r: RunResults): string {
  const h = r.host;
  const out = [
    `${r.title}: ${r.outcome}${r.exitCode === undefined ? '' : ` (exit ${r.exitCode})`}, ${r.startedAt}`,
    `host: ${h.accel} (${h.accelReason}), ${h.cores} cores, speed factor ${h.speedFactor}, load ${h.loadAvg1}${r.baseline ? `; baseline ${r.baseline.file}` : ''}`,
  ];
  if (r.gate) out.push(`gate: ${r.gate.verdict}: ${r.gate.reason}`);
  const booted = r.tests.filter((t) => t.clients.length > 0);
  for (const t of booted) {
    if (r.kind !== 'boot') out.push('', `${t.title}: ${t.outcome}`);
    else out.push('');
    out.push(formatTimelineTable(t.clients));
    if (t.gate) out.push(`gate: ${t.gate.verdict}: ${t.gate.reason}`);
  }
  const others = r.tests.filter((t) => t.clients.length === 0);
  if (others.length > 0 && r.kind !== 'boot') {
    const count = (o: string): number => r.tests.filter((t) => t.outcome === o).length;
    out.push('', `${r.tests.length} tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
    for (const t of r.tests.filter((x) => x.outcome === 'fail' || x.outcome === 'interrupted')) out.push(`  ${t.outcome.toUpperCase()}${t.shard ? ` [shard ${t.shard.index}/${t.shard.count}]` : ''} ${t.title}${t.error ? `: ${t.error.class}: ${t.error.message}` : ''}`);
  }
  if (booted.length === 0 && r.kind === 'boot') out.push('', 'no client booted');
  return out.join('\n');
}

function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel.startsWith('..') ? dir : rel;
}

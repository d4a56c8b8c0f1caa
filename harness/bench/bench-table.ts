import type { BenchReport, CaseResult, DetailTable, MetricSummary, Unit } from './types';

const GAP = '  ';

/** A number as a cell shows it: "84.2", "-3.1", "1.55x", "42%", or "-" for none. */
const NUMERIC = /^([-+]?\d+(\.\d+)?[x%]?|-)$/;

/**
 * A plain-text table. Columns of numbers line up on the right; the first `leftColumns`
 * and any column with words in it read left to right.
 */
export function formatTextTable(header: string[], rows: string[][], leftColumns = 1): string {
  const cols = Math.max(header.length, ...rows.map((r) => r.length));
  const cell = (r: string[], i: number): string => r[i] ?? '';
  const widths = Array.from({ length: cols }, (_, i) => Math.max(cell(header, i).length, ...rows.map((r) => cell(r, i).length)));
  const left = widths.map((_, i) => i < leftColumns || rows.some((r) => cell(r, i) !== '' && !NUMERIC.test(cell(r, i))));
  const fmt = (r: string[]): string =>
    widths.map((w, i) => (left[i] ? cell(r, i).padEnd(w) : cell(r, i).padStart(w))).join(GAP).trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join(GAP), ...rows.map(fmt)].join('\n');
}

/** A number as the bench prints it: seconds to 0.1 (0.01 below 10), ratios as "1.25x", memory whole. */
export function formatValue(v: number | undefined, unit: Unit): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  switch (unit) {
    case 's':
      return Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(1);
    case 'x':
      return `${v.toFixed(2)}x`;
    case 'MiB':
    case 'MB':
      return v.toFixed(0);
  }
}

function targetCells(m: MetricSummary): [string, string] {
  if (!m.target) return ['', ''];
  const verdict = m.met === undefined ? 'not measured' : m.met ? 'met' : 'missed';
  return [`<= ${formatValue(m.target.max, m.unit)}`, verdict];
}

/** A case's metrics as rows: metric, unit, min, median, max, target, verdict. */
export function formatMetrics(metrics: MetricSummary[]): string {
  const rows = metrics.map((m) => [
    m.label,
    m.unit,
    formatValue(m.min, m.unit),
    formatValue(m.median, m.unit),
    formatValue(m.max, m.unit),
    ...targetCells(m),
  ]);
  return formatTextTable(['metric', 'unit', 'min', 'median', 'max', 'target', 'verdict'], rows, 2);
}

function formatDetail(t: DetailTable): string {
  return `${t.title}\n${formatTextTable(t.header, t.rows)}`;
}

export function formatCase(c: CaseResult): string {
  const parts = [`== ${c.name}: ${c.title} (${c.runs} run${c.runs === 1 ? '' : 's'}, ${Math.round(c.seconds)} s)`];
  if (c.metrics.length > 0) parts.push(formatMetrics(c.metrics));
  for (const t of c.tables) parts.push(formatDetail(t));
  if (c.notes.length > 0) parts.push(c.notes.map((n) => `note: ${n}`).join('\n'));
  if (c.failures.length > 0) {
    parts.push(c.failures.map((f) => `FAILED run ${f.run}, ${f.step} (${f.kind}, exit ${f.exitCode}): ${f.message}`).join('\n'));
  }
  return parts.join('\n\n');
}

/** Every missed target, one line each, e.g. "chain: lab / bare to login, union: 1.55x > 1.25x". */
export function missedTargets(report: BenchReport): string[] {
  return report.cases.flatMap((c) =>
    c.metrics
      .filter((m) => m.target && m.met === false)
      .map((m) => `${c.name}: ${m.label}: ${formatValue(m.median, m.unit)} > ${formatValue(m.target?.max, m.unit)}`),
  );
}

/** The whole report for the terminal: a header, each case, and the targets' tally. */
export function formatBenchReport(report: BenchReport): string {
  const h = report.host;
  const head = [
    `ltsp-lab bench ${report.runId}: ${h.cores} cores, ${h.accel}, speed factor ${h.speedFactor}, load ${h.loadAvg1.toFixed(2)}` +
      (h.otherQemu > 0 ? `, ${h.otherQemu} QEMU of other runs running at the start (times are skewed by them)` : ''),
    'min / median / max over the runs; a ratio is taken per run; targets are judged on the median',
  ].join('\n');
  const judged = report.cases.flatMap((c) => c.metrics.filter((m) => m.target && m.met !== undefined));
  const missed = missedTargets(report);
  const tally = `targets: ${judged.length - missed.length} met, ${missed.length} missed${missed.length ? `\n${missed.map((m) => `  missed: ${m}`).join('\n')}` : ''}`;
  return [head, ...report.cases.map(formatCase), tally, `bench.json: ${report.file}`].join('\n\n');
}

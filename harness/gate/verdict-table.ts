import type { GateVerdict } from './types';

const sec = (ms: number): string => (ms / 1000).toFixed(1);

/** The verdict as a terminal table: each stage against the baseline, the regressed ones marked. */
export function formatVerdict(v: GateVerdict): string {
  const lines = [`gate: ${v.verdict.toUpperCase()} (baseline ${v.profile}): ${v.reason}`];
  if (v.stages.length === 0) return lines[0]!;
  const rows = v.stages.map((s) => [s.stage, sec(s.baselineMs), sec(s.measuredMs), `${s.deltaMs >= 0 ? '+' : ''}${sec(s.deltaMs)}`, s.regressed ? 'SLOWER' : '']);
  const header = ['stage', 'baseline s', 'measured s', 'delta s', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  ').trimEnd(), ...rows.map(fmt));
  return lines.join('\n');
}

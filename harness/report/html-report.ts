import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deltaSeconds, seconds, stageMatrix, type StageRow } from './stage-matrix';
import type { ClientTimeline, RunReport, StageMark } from './types';

/*
 * One self-contained page per run: inline CSS and SVG, no script, nothing fetched.
 * Every string from the run (console lines above all) goes through esc().
 */

// Qualitative colours (Tableau 20 family) without red, which means "failed" here.
const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#76b7b2', '#edc948', '#b07aa1',
  '#ff9da7', '#9c755f', '#a0cbe8', '#8cd17d', '#ffbe7d', '#d4a6c8',
];
const FAIL = '#c0392b';

// Timeline geometry, in SVG user units (px at 100 %).
const SVG_W = 960;
const PAD_L = 8;
const PAD_R = 24;
const PLOT_W = SVG_W - PAD_L - PAD_R;
const LABEL_ROWS = [46, 32, 18]; // text baselines, nearest the bar first
const BAR_Y = 54;
const BAR_H = 22;
const AXIS_Y = BAR_Y + BAR_H;
const SVG_H = AXIS_Y + 26;
const CHAR_W = 6.3; // rough width of an 11px sans-serif character, for label placement
const TICK_STEPS_S = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

const CSS = `
:root { --fail: ${FAIL}; --ok: #2e7d32; --muted: #5f6368; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1d1d1f; background: #fff; max-width: 1040px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 10px; }
h2 { font-size: 17px; margin: 0 0 6px; }
a { color: #1a5fb4; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 0 0 8px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.notes { margin: 6px 0; padding-left: 20px; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 9px; border-radius: 10px;
  color: #fff; vertical-align: 2px; margin-left: 6px; }
.badge.ok { background: var(--ok); }
.badge.fail { background: var(--fail); }
.legend { margin: 14px 0 4px; color: var(--muted); font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.sw { display: inline-block; width: 11px; height: 11px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
section.client { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
section.client.failed { border-color: var(--fail); border-left-width: 6px; background: #fff8f7; }
.facts { color: var(--muted); margin: 0 0 4px; }
.facts a { margin-left: 2px; }
svg.timeline { display: block; width: 100%; height: auto; }
svg.timeline text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; fill: #333; }
svg.timeline text.axis { fill: var(--muted); font-size: 10px; }
svg.timeline text.failed { fill: var(--fail); font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
pre.error { background: #2b2b2b; color: #f3f3f3; padding: 10px 12px; border-left: 4px solid var(--fail);
  white-space: pre-wrap; word-break: break-word; margin: 8px 0; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f6f6f6; }
th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.missing { color: #aaa; text-align: center; }
td.failed { color: var(--fail); font-weight: 600; }
details summary { cursor: pointer; color: var(--muted); margin-top: 6px; }
footer { color: var(--muted); font-size: 12px; margin: 24px 0; }
`;

/** The report page for a run. Pure. */
export function renderHtmlReport(run: RunReport): string {
  const rows = stageMatrix(run.clients);
  const colours = new Map(rows.map((r, i) => [r.stage, PALETTE[i % PALETTE.length]]));
  const maxMs = Math.max(0, ...run.clients.flatMap((c) => c.stages.map((s) => s.t)));
  const axis = axisFor(maxMs);
  const failed = run.clients.filter((c) => !c.ok).length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${run.title} · ${run.runId}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(run.title)} ${failed ? `<span class="badge fail">${failed} FAILED</span>` : run.clients.length ? '<span class="badge ok">OK</span>' : ''}</h1>
<dl class="meta">
<dt>Run</dt><dd><code>${esc(run.runId)}</code></dd>
<dt>Started</dt><dd>${esc(run.startedAt)}</dd>
<dt>Finished</dt><dd>${run.finishedAt === undefined ? 'not finished' : `${esc(run.finishedAt)}${duration(run.startedAt, run.finishedAt)}`}</dd>
<dt>Clients</dt><dd>${run.clients.length - failed} booted, ${failed} failed</dd>
${run.serverLog === undefined ? '' : `<dt>Server</dt><dd>${link(run.serverLog, 'server log')}</dd>\n`}</dl>
${run.notes?.length ? `<ul class="notes">${run.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</header>
<main>
${rows.length ? legend(rows, colours) : ''}
${run.clients.map((c, i) => clientSection(c, i, colours, axis)).join('\n')}
${run.clients.length ? stageTable(run.clients, rows) : '<p>No clients in this run.</p>'}
</main>
<footer>ltsp-lab run report · times are seconds since each client's QEMU start</footer>
</body>
</html>
`;
}

/** Writes dir/index.html and dir/run.json (creating dir); resolves with the HTML path. */
export async function writeHtmlReport(dir: string, run: RunReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const html = join(dir, 'index.html');
  await writeFile(join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  await writeFile(html, renderHtmlReport(run));
  return html;
}

interface Axis {
  endS: number;
  stepS: number;
}

/** A scale shared by all clients, so their bars compare at a glance. */
function axisFor(maxMs: number): Axis {
  const maxS = Math.max(maxMs / 1000, 1);
  const stepS = TICK_STEPS_S.find((s) => maxS / s <= 10) ?? Math.ceil(maxS / 10 / 3600) * 3600;
  return { endS: Math.ceil(maxS / stepS - 1e-9) * stepS, stepS };
}

function clientSection(c: ClientTimeline, index: number, colours: Map<string, string>, axis: Axis): string {
  const facts = [
    `MAC <code>${esc(c.mac)}</code>`,
    c.leaseIp === undefined ? '' : `lease <code>${esc(c.leaseIp)}</code>`,
    c.memoryMb === undefined ? '' : `${esc(String(c.memoryMb))} MiB`,
    c.consoleLog === undefined ? '' : link(c.consoleLog, 'console log'),
    c.qmpLog === undefined ? '' : link(c.qmpLog, 'QMP log'),
  ].filter(Boolean);
  const badge = c.ok
    ? '<span class="badge ok">OK</span>'
    : `<span class="badge fail">FAILED at ${esc(c.failedStage ?? 'unknown stage')}</span>`;
  return `<section class="client${c.ok ? '' : ' failed'}" id="client-${esc(c.client)}">
<h2>${esc(c.client)} ${badge}</h2>
<p class="facts">${facts.join(' · ')}</p>
${timelineSvg(c, index, colours, axis)}
${!c.ok && c.error ? `<pre class="error">${esc(c.error)}</pre>` : ''}
${c.stages.length ? marksTable(c.stages, !c.ok) : ''}
</section>`;
}

function timelineSvg(c: ClientTimeline, index: number, colours: Map<string, string>, axis: Axis): string {
  const x = (ms: number): number => round(PAD_L + (Math.max(0, ms) / 1000 / axis.endS) * PLOT_W);
  const parts: string[] = [];
  const hatch = `hatch-${index}`;
  if (!c.ok) {
    parts.push(`<defs><pattern id="${hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="6" height="6" fill="#fbe3e0"/><line x1="0" y1="0" x2="0" y2="6" stroke="${FAIL}" stroke-width="2"/></pattern></defs>`);
  }
  parts.push(`<rect x="${PAD_L}" y="${BAR_Y}" width="${PLOT_W}" height="${BAR_H}" fill="#f3f3f3"/>`);

  let prev = 0;
  c.stages.forEach((m) => {
    const x0 = x(prev);
    const w = Math.max(1, x(m.t) - x0);
    const tip = `${m.label}: ${seconds(m.t)} s (${deltaSeconds(m.t - prev)} s)\n${m.line}`;
    parts.push(`<rect x="${x0}" y="${BAR_Y}" width="${round(w)}" height="${BAR_H}" fill="${colours.get(m.stage) ?? PALETTE[0]}" ` +
      `stroke="#fff" stroke-width="1"><title>${esc(tip)}</title></rect>`);
    prev = m.t;
  });

  if (!c.ok) {
    // The failed stage has no end time: hatch from the last mark to the end of the scale.
    const x0 = x(prev);
    const w = PAD_L + PLOT_W - x0;
    if (w > 0) parts.push(`<rect x="${x0}" y="${BAR_Y}" width="${round(w)}" height="${BAR_H}" fill="url(#${hatch})"/>`);
    const text = `✗ FAILED at ${c.failedStage ?? 'unknown stage'}`;
    const fits = w > text.length * CHAR_W + 8;
    parts.push(`<text class="failed" x="${fits ? x0 + 6 : x0 - 4}" y="${BAR_Y + 15}" text-anchor="${fits ? 'start' : 'end'}">${esc(text)}</text>`);
  }
  if (c.stages.length === 0 && c.ok) {
    parts.push(`<text x="${PAD_L + 6}" y="${BAR_Y + 15}">no stage marks</text>`);
  }

  parts.push(...stageLabels(c.stages, x));
  parts.push(...axisMarks(axis, x));
  return `<svg class="timeline" viewBox="0 0 ${SVG_W} ${SVG_H}" width="${SVG_W}" height="${SVG_H}" role="img" ` +
    `aria-label="${esc(`boot timeline of ${c.client}`)}" xmlns="http://www.w3.org/2000/svg">\n${parts.join('\n')}\n</svg>`;
}

/**
 * "label 12.3s" over each stage boundary, ending at it (the segment before a boundary is
 * the time it took to reach that stage). Labels go to the lowest row where they do not
 * overlap the previous label, so stages close together still read.
 */
function stageLabels(marks: StageMark[], x: (ms: number) => number): string[] {
  const rowEnds = LABEL_ROWS.map(() => -Infinity);
  return marks.map((m) => {
    const text = `${m.label} ${seconds(m.t)}s`;
    const w = text.length * CHAR_W;
    const bx = x(m.t);
    const anchorEnd = bx - w >= 0;
    const left = anchorEnd ? bx - w : bx;
    let row = rowEnds.findIndex((end) => left > end + 6);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = left + w;
    const y = LABEL_ROWS[row];
    return `<line x1="${bx}" y1="${y + 3}" x2="${bx}" y2="${BAR_Y}" stroke="#999" stroke-width="1"/>` +
      `<text x="${anchorEnd ? bx - 2 : bx + 2}" y="${y}" text-anchor="${anchorEnd ? 'end' : 'start'}">${esc(text)}</text>`;
  });
}

function axisMarks(axis: Axis, x: (ms: number) => number): string[] {
  const out = [`<line x1="${PAD_L}" y1="${AXIS_Y}" x2="${PAD_L + PLOT_W}" y2="${AXIS_Y}" stroke="#888" stroke-width="1"/>`];
  const ticks = Math.round(axis.endS / axis.stepS);
  for (let i = 0; i <= ticks; i++) {
    const s = i * axis.stepS;
    const tx = x(s * 1000);
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    out.push(`<line x1="${tx}" y1="${AXIS_Y}" x2="${tx}" y2="${AXIS_Y + 5}" stroke="#888" stroke-width="1"/>` +
      `<text class="axis" x="${tx}" y="${AXIS_Y + 17}" text-anchor="${anchor}">${esc(axisLabel(s))}</text>`);
  }
  return out;
}

function axisLabel(s: number): string {
  if (s === 0) return '0 s';
  if (s >= 120 && s % 60 === 0) return `${s / 60} min`;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function legend(rows: StageRow[], colours: Map<string, string>): string {
  const items = rows.map((r) => `<span><i class="sw" style="background:${colours.get(r.stage)}"></i>${esc(r.label)}</span>`);
  return `<p class="legend">${items.join('')}<span><i class="sw" style="background:${FAIL}"></i>failed</span></p>`;
}

/** The stage-by-client matrix; a failed stage that was never marked gets a row of its own. */
function stageTable(clients: ClientTimeline[], rows: StageRow[]): string {
  const extra = [...new Set(clients.filter((c) => !c.ok && c.failedStage !== undefined).map((c) => c.failedStage as string))]
    .filter((s) => !rows.some((r) => r.stage === s));
  const all = [...rows, ...extra.map((stage): StageRow => ({ stage, label: stage, cells: clients.map(() => undefined) }))];
  const head = `<tr><th>stage</th>${clients.map((c) => `<th class="num">${esc(c.client)}</th>`).join('')}</tr>`;
  const body = all.map((r) => {
    const cells = clients.map((c, i) => {
      const cell = r.cells[i];
      if (cell) return `<td class="num" title="${esc(cell.line)}">${seconds(cell.t)} s <small>(${deltaSeconds(cell.delta)})</small></td>`;
      if (!c.ok && c.failedStage === r.stage) return '<td class="failed">✗ FAILED</td>';
      return '<td class="missing">-</td>';
    });
    return `<tr><th>${esc(r.label)}</th>${cells.join('')}</tr>`;
  });
  return `<section class="stages">
<h2>Stage times</h2>
<table>
<thead>${head}</thead>
<tbody>
${body.join('\n')}
</tbody>
</table>
</section>`;
}

/** Per client: when each stage was marked, and by which console line. */
function marksTable(marks: StageMark[], open: boolean): string {
  let prev = 0;
  const rows = marks.map((m) => {
    const row = `<tr><td>${esc(m.label)}</td><td class="num">${seconds(m.t)} s</td><td class="num">${deltaSeconds(m.t - prev)}</td>` +
      `<td><code>${esc(m.line)}</code></td></tr>`;
    prev = m.t;
    return row;
  });
  return `<details${open ? ' open' : ''}><summary>console lines that marked each stage</summary>
<table><thead><tr><th>stage</th><th class="num">t</th><th class="num">+Δ</th><th>console line</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></details>`;
}

function duration(startIso: string, endIso: string): string {
  const ms = Date.parse(endIso) - Date.parse(startIso);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = ms / 1000;
  return s < 120 ? ` (${s.toFixed(1)} s)` : ` (${Math.floor(s / 60)} min ${Math.round(s % 60)} s)`;
}

/** A link to a file in the report folder. The path is URL-encoded so it can never become a scheme or break out. */
function link(path: string, text: string): string {
  let href = encodeURI(path).replace(/[#?]/g, encodeURIComponent);
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) href = `./${href}`;
  return `<a href="${esc(href)}">${esc(text)}</a> <code>${esc(path)}</code>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

import { deltaSeconds, seconds } from './stage-matrix';
import { STAGE_KINDS, stageKind } from '../results/stage-kinds';
import { clientLabel, clientSpecArgv, sameClient } from '../client/client-spec';
import { baselineProfile } from '../results/baseline';
import type { BaselineFacts, ClientResult, GateVerdict, RunResults, StageKind, TestResult } from '../results/types';

/*
 * One self-contained page per run (index.html beside results.json): inline CSS, inline
 * SVG and a few lines of inline script for the clicks; nothing is fetched. Plain SVG
 * rather than a chart library: a waterfall is a few rectangles per row, the page stays
 * small and offline with nothing to vendor, and the layout (label lanes above all) is
 * ours to test. Every string from the run (console lines above all) goes through esc(),
 * and the console data through jsonForScript().
 */

/** One client's console lines of one stage, keyed `${testIndex}/${client}/${stage}` ('!fail' for the failed stage). */
export type StageConsoles = Record<string, { lines: string[]; omitted: number; endMs?: number }>;

/** Segment colours by stage kind: distinct hues, none of them red, which means "failed". */
export const KIND_COLOURS: Readonly<Record<StageKind, { fill: string; text: string }>> = {
  firmware: { fill: '#8d6e63', text: '#fff' },
  network: { fill: '#2f6db5', text: '#fff' },
  kernel: { fill: '#f0a23b', text: '#1d1d1f' },
  initramfs: { fill: '#8e5ea2', text: '#fff' },
  nbd: { fill: '#3a9d5d', text: '#fff' },
  userspace: { fill: '#4fb3bf', text: '#1d1d1f' },
  other: { fill: '#95a5a6', text: '#1d1d1f' },
};
const FAIL = '#c0392b';
/** A lab fault's band on the waterfall (harness/fault). */
const FAULT = '#e67e22';

// Waterfall geometry, SVG user units (px at 100 %).
const SVG_W = 1000;
const GUTTER = 118; // client name and total, left of the plot
const PAD_R = 14;
const PLOT_L = GUTTER;
const PLOT_W = SVG_W - GUTTER - PAD_R;
const LANE_H = 15; // one row of labels above a bar
const BAR_H = 24;
const BASE_GAP = 3;
const BASE_H = 9;
const ROW_GAP = 16;
const AXIS_H = 26;
/**
 * Width of a character of the labels' 11px font, on the safe side (DejaVu Sans, the
 * widest of the fonts the page names, averages ~6.4 px): labels are laid out before
 * any browser measures them, and the browser test checks that none overlap.
 */
const CHAR_W = 7;
const LABEL_PAD = 8;
const TICK_STEPS_S = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

const CSS = `
:root { --fail: ${FAIL}; --ok: #2e7d32; --warn: #b26a00; --muted: #5f6368; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1d1d1f; background: #fff; max-width: 1080px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 10px; }
h2 { font-size: 17px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
a { color: #1a5fb4; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 0 0 8px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
ul.notes { margin: 6px 0; padding-left: 20px; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 9px; border-radius: 10px;
  color: #fff; vertical-align: 2px; margin-left: 6px; white-space: nowrap; }
.badge.pass { background: var(--ok); }
.badge.fail, .badge.regression { background: var(--fail); }
.badge.interrupted, .badge.inconclusive { background: var(--warn); }
.badge.skipped { background: #888; }
.legend { margin: 14px 0 4px; color: var(--muted); font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.sw.base { height: 6px; vertical-align: 1px; opacity: .55; }
.sw.failsw { background: repeating-linear-gradient(45deg, ${FAIL} 0 2px, #fbe3e0 2px 5px); }
section.test { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
section.test.failed { border-color: var(--fail); border-left-width: 6px; }
.facts { color: var(--muted); margin: 0 0 4px; }
svg.waterfall { display: block; width: 100%; height: auto; }
svg.waterfall text { font: 11px "DejaVu Sans", Verdana, system-ui, sans-serif; fill: #333; }
svg.waterfall text.client { font-size: 13px; font-weight: 600; fill: #1d1d1f; }
svg.waterfall text.total, svg.waterfall text.axis, svg.waterfall text.base { fill: var(--muted); font-size: 10px; }
svg.waterfall text.inside { pointer-events: none; }
svg.waterfall text.failed { fill: var(--fail); font-weight: 600; }
svg.waterfall text.fault { fill: #a04f0b; font-weight: 600; }
svg.waterfall rect.label-bg { fill: #fff; }
svg.waterfall .seg { cursor: pointer; }
svg.waterfall .seg:hover rect, svg.waterfall .seg:focus rect { filter: brightness(1.12); }
svg.waterfall .seg.selected rect { stroke: #111; stroke-width: 2; }
svg.waterfall .seg:focus { outline: none; }
.console { border: 1px solid #444; border-radius: 4px; margin: 8px 0; }
.console .title { background: #444; color: #fff; padding: 4px 10px; font-size: 12px; }
.console pre { background: #1e1e1e; color: #e8e8e8; margin: 0; padding: 8px 10px; max-height: 360px; overflow: auto; white-space: pre-wrap; word-break: break-all; }
.hint { color: var(--muted); font-size: 12px; margin: 2px 0; }
pre.error { background: #2b2b2b; color: #f3f3f3; padding: 10px 12px; border-left: 4px solid var(--fail);
  white-space: pre-wrap; word-break: break-word; margin: 8px 0; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f6f6f6; }
th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.missing { color: #aaa; text-align: center; }
td.failed, tr.regressed td { color: var(--fail); font-weight: 600; }
td.slower { color: var(--warn); }
code.cmdline { white-space: pre-wrap; word-break: break-all; }
details summary { cursor: pointer; color: var(--muted); margin-top: 6px; }
footer { color: var(--muted); font-size: 12px; margin: 24px 0; }
`;

/** Shows a clicked segment's console lines in its test's panel. No libraries, no network. */
const SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById('stage-consoles').textContent);
  let selected = null;
  function show(seg) {
    const key = seg.getAttribute('data-key');
    const panel = document.getElementById('console-' + key.split('/')[0]);
    const d = data[key] || { lines: [], omitted: 0 };
    panel.hidden = false;
    panel.querySelector('.title').textContent = seg.getAttribute('data-title');
    const head = d.omitted ? '\\u2026 ' + d.omitted + ' earlier lines are in the console log\\n' : '';
    panel.querySelector('pre').textContent = head + (d.lines.length ? d.lines.join('\\n') : '(no console lines in this stage)');
    // The line that marked the stage is the last: scroll to it.
    panel.querySelector('pre').scrollTop = panel.querySelector('pre').scrollHeight;
    panel.setAttribute('data-key', key);
    if (selected) selected.classList.remove('selected');
    selected = seg;
    seg.classList.add('selected');
  }
  document.addEventListener('click', (e) => {
    const seg = e.target.closest && e.target.closest('.seg');
    if (seg) show(seg);
  });
  document.addEventListener('keydown', (e) => {
    const seg = e.target.closest && e.target.closest('.seg');
    if (seg && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); show(seg); }
  });
})();
`;

/** The report page of a run. Pure. */
export function renderHtmlReport(run: RunResults, consoles: StageConsoles = {}): string {
  const withClients = run.tests.map((t, i) => ({ t, i })).filter(({ t }) => t.clients.length > 0);
  const axis = axisFor(Math.max(0, ...run.tests.flatMap((t, i) => t.clients.map((c) => rowEndMs(c, i, consoles))), sumBaseline(run.baseline)));
  const summary = run.kind !== 'boot' || run.tests.length > 1 ? testSummary(run) : '';
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
<h1>${esc(run.title)} <span class="badge ${run.outcome}">${esc(run.outcome.toUpperCase())}</span>${run.gate ? ` <span class="badge ${run.gate.verdict}">gate: ${esc(run.gate.verdict)}</span>` : ''}</h1>
${runMeta(run)}
${run.notes?.length ? `<ul class="notes">${run.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
${run.gate ? gateBlock(run.gate) : ''}
</header>
<main>
${summary}
${withClients.length ? legend(run.baseline !== undefined) : ''}
${withClients.map(({ t, i }) => testSection(run, t, i, axis, consoles)).join('\n')}
${withClients.length === 0 ? '<p>No client booted in this run.</p>' : ''}
</main>
<footer>ltsp-lab ${esc(run.kind)} report · results.json schema v${run.schemaVersion} · waterfall times are seconds since each client's QEMU start; click a segment for its console lines</footer>
<script type="application/json" id="stage-consoles">${jsonForScript(consoles)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function runMeta(run: RunResults): string {
  const h = run.host;
  const rows: [string, string][] = [
    ['Run', `<code>${esc(run.runId)}</code> (${esc(run.kind)})`],
    ['Started', esc(run.startedAt)],
    ['Finished', run.finishedAt === undefined ? 'not finished' : `${esc(run.finishedAt)}${duration(run.startedAt, run.finishedAt)}${run.exitCode === undefined ? '' : `, exit ${run.exitCode}`}`],
    ['Accelerator', `<b>${esc(h.accel)}</b>: ${esc(h.accelReason || 'no reason given')}`],
    ['Host', `${h.cores} cores · speed factor <b>${h.speedFactor}</b> (calibration ${h.calibrationMs} ms) · load ${h.loadAvg1}${h.loadAvg1End === undefined ? '' : ` → ${h.loadAvg1End}`}`],
  ];
  if (run.images) {
    const keys = Object.entries(run.images.keys).map(([k, v]) => `${esc(k)} <code>${esc(v)}</code>`).join(' · ');
    rows.push(['Images', `${run.images.kernelVersion ? `kernel ${esc(run.images.kernelVersion)} · ` : ''}root sha256 <code title="${esc(run.images.rootSha256)}">${esc(run.images.rootSha256.slice(0, 16))}…</code>${keys ? `<br><small>${keys}</small>` : ''}`]);
  }
  const b = run.baseline;
  rows.push(['Baseline', b
    ? `<code>${esc(b.file)}</code>${b.runs === undefined ? '' : `, median of ${b.runs} run${b.runs === 1 ? '' : 's'}`}${b.createdAt ? `, ${esc(b.createdAt)}` : ''}${b.speedFactor === undefined ? '' : `, guest speed factor ${b.speedFactor}`}`
    : `none for ${noBaselineFor(run)}`]);
  return `<dl class="meta">\n${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('\n')}\n</dl>`;
}

/**
 * The profile a run without a baseline lacks: its first client's kind (the lab's default,
 * whose baseline the run draws), and how to record it.
 */
function noBaselineFor(run: RunResults): string {
  const first = run.tests.flatMap((t) => t.clients).find((c) => c.boots)?.boots;
  const profile = first ? baselineProfile(run.host, first) : `${run.host.accel}-${run.host.cores}cpu`;
  return `profile <code>${esc(profile)}</code>: ${esc(['./lab baseline --update', ...(first ? clientSpecArgv(first) : [])].join(' '))} records one`;
}

function gateBlock(g: GateVerdict): string {
  const rows = g.stages.map((s) => `<tr${s.regressed ? ' class="regressed"' : ''}><td>${esc(s.stage)}</td><td class="num">${seconds(s.baselineMs)} s</td><td class="num">${seconds(s.measuredMs)} s</td><td class="num">${deltaSeconds(s.deltaMs)} s</td><td>${s.regressed ? 'regressed' : ''}</td></tr>`);
  return `<details${g.verdict === 'pass' ? '' : ' open'}><summary>regression gate (${esc(g.profile)}): ${esc(g.verdict)}: ${esc(g.reason)}</summary>
${rows.length ? `<table><thead><tr><th>stage</th><th class="num">baseline</th><th class="num">measured</th><th class="num">Δ</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>` : ''}</details>`;
}

function testSummary(run: RunResults): string {
  const rows = run.tests.map((t) => `<tr><td>${t.clients.length ? `<a href="#test-${esc(slugId(t.id))}">${esc(t.title)}</a>` : esc(t.title)}</td>` +
    `<td><span class="badge ${t.outcome}">${esc(t.outcome)}</span>${t.gate ? ` <span class="badge ${t.gate.verdict}">${esc(t.gate.verdict)}</span>` : ''}</td>` +
    `<td class="num">${seconds(t.durationMs)} s</td><td class="num">${t.clients.length || ''}</td>` +
    `<td>${t.error ? `<code>${esc(t.error.class)}</code> ${esc(t.error.message)}` : ''}</td></tr>`);
  const count = (o: TestResult['outcome']): number => run.tests.filter((t) => t.outcome === o).length;
  return `<section class="summary">
<h2>${run.tests.length} test${run.tests.length === 1 ? '' : 's'}: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped${count('interrupted') ? `, ${count('interrupted')} interrupted` : ''}</h2>
<table><thead><tr><th>test</th><th>outcome</th><th class="num">time</th><th class="num">clients</th><th>error</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
</section>`;
}

function legend(baseline: boolean): string {
  const items = STAGE_KINDS.filter((k) => k !== 'other').map((k) => `<span><i class="sw" style="background:${KIND_COLOURS[k].fill}"></i>${k}</span>`);
  if (baseline) items.push('<span><i class="sw base" style="background:#777"></i>baseline (median)</span>');
  items.push('<span><i class="sw failsw"></i>failed stage</span>');
  return `<p class="legend">${items.join('')}</p>`;
}

function testSection(run: RunResults, t: TestResult, ti: number, axis: Axis, consoles: StageConsoles): string {
  const failed = t.outcome === 'fail' || t.outcome === 'interrupted';
  const facts = [`${seconds(t.durationMs)} s`, t.serverLog === undefined ? '' : link(t.serverLog, 'server log')].filter(Boolean);
  return `<section class="test${failed ? ' failed' : ''}" id="test-${esc(slugId(t.id))}" data-test="${ti}">
<h2>${esc(run.kind === 'boot' ? 'boot' : t.title)} <span class="badge ${t.outcome}">${esc(t.outcome.toUpperCase())}</span>${t.gate ? ` <span class="badge ${t.gate.verdict}">gate: ${esc(t.gate.verdict)}</span>` : ''}</h2>
<p class="facts">${facts.join(' · ')}</p>
${waterfall(t, ti, axis, run.baseline, consoles)}
<p class="hint">Click a segment to see that stage's console lines.</p>
<div class="console" id="console-${ti}" hidden><div class="title"></div><pre></pre></div>
${t.error ? `<pre class="error">${esc(`${t.error.class}: ${t.error.message}${t.error.stage ? `\nstage: ${t.error.stage}` : ''}${t.error.consoleTail?.length ? `\n--- last ${t.error.consoleTail.length} console lines ---\n${t.error.consoleTail.join('\n')}` : ''}`)}</pre>` : ''}
${t.gate ? gateBlock(t.gate) : ''}
${faultTable(t.clients)}
${clientTable(t.clients)}
${stageTable(t.clients, run.baseline, run.kind === 'boot')}
${pointTable(t.clients)}
</section>`;
}

interface Axis {
  endS: number;
  stepS: number;
}

/** A scale shared by every row of the page, so bars compare at a glance. */
function axisFor(maxMs: number): Axis {
  const maxS = Math.max(maxMs / 1000, 1);
  const stepS = TICK_STEPS_S.find((s) => maxS / s <= 10) ?? Math.ceil(maxS / 10 / 3600) * 3600;
  return { endS: Math.ceil(maxS / stepS - 1e-9) * stepS, stepS };
}

/** Where a client's row ends: its last mark, or for a failed one the last console line after it. */
function rowEndMs(c: ClientResult, ti: number, consoles: StageConsoles): number {
  const faultEnd = Math.max(0, ...(c.faults ?? []).map((f) => (f.endedAt ?? f.appliedAt ?? 0) + (f.recoveryMs ?? 0)));
  const last = Math.max(faultEnd, c.stages[c.stages.length - 1]?.t ?? 0);
  if (c.ok) return last;
  return Math.max(last, consoles[`${ti}/${c.client}/!fail`]?.endMs ?? last);
}

function sumBaseline(b: BaselineFacts | undefined): number {
  return b ? b.stages.reduce((s, st) => s + st.medianMs, 0) : 0;
}

interface Label {
  text: string;
  /** The segment's centre: where the label points. */
  anchor: number;
  cls?: string;
}

/**
 * One row per client: its stages as a stacked bar, coloured by kind, the baseline's
 * bar under it. A stage's label goes inside its segment when it fits, else into a
 * lane above the bar: the nearest lane where it clears the previous label, with as
 * many lanes as it takes, so no two labels ever share pixels.
 */
function waterfall(t: TestResult, ti: number, axis: Axis, baseline: BaselineFacts | undefined, consoles: StageConsoles): string {
  const x = (ms: number): number => round(PLOT_L + (Math.max(0, ms) / 1000 / axis.endS) * PLOT_W);
  const parts: string[] = [];
  let y = 4;
  const hatch = `hatch-${ti}`;
  parts.push(`<defs><pattern id="${hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
    `<rect width="6" height="6" fill="#fbe3e0"/><line x1="0" y1="0" x2="0" y2="6" stroke="${FAIL}" stroke-width="2.5"/></pattern></defs>`);
  for (const c of t.clients) {
    const segs: string[] = [];
    const outside: Label[] = [];
    let prev = 0;
    for (const s of c.stages) {
      const x0 = x(prev);
      const w = Math.max(1.5, x(s.t) - x0);
      const colour = KIND_COLOURS[s.kind] ?? KIND_COLOURS.other;
      const key = `${ti}/${c.client}/${s.stage}`;
      const title = `${c.client} · ${s.label}: ${seconds(prev)} s → ${seconds(s.t)} s (${deltaSeconds(s.durationMs)} s)${s.budgetMs === undefined ? '' : `, budget ${seconds(s.budgetMs)} s`} · ${s.kind}`;
      const text = `${s.label} ${seconds(s.durationMs)}s`;
      const fits = textWidth(text) + LABEL_PAD <= w;
      segs.push(`<g class="seg" tabindex="0" role="button" data-key="${esc(key)}" data-stage="${esc(s.stage)}" data-kind="${s.kind}" data-ms="${s.durationMs}" data-title="${esc(title)}">` +
        `<rect x="${x0}" y="@BAR" width="${round(w)}" height="${BAR_H}" fill="${colour.fill}" stroke="#fff" stroke-width="1"/><title>${esc(`${title}\n${s.line}`)}</title>` +
        (fits ? `<text class="inside" x="${round(x0 + w / 2)}" y="@TXT" text-anchor="middle" style="fill:${colour.text}">${esc(text)}</text>` : '') +
        '</g>');
      if (!fits) outside.push({ text, anchor: round(x0 + w / 2) });
      prev = s.t;
    }
    for (const pt of c.points ?? []) {
      // A point inside a stage: a tick over the bar where the console said it, so the page shows where a stage's time went.
      const px = x(pt.t);
      const begun = c.stages[c.stages.findIndex((s) => s.stage === pt.stage) - 1]?.t ?? 0;
      const title = `${c.client} · ${pt.label} at ${seconds(pt.t)} s (${deltaSeconds(pt.t - begun)} s into ${pt.stage})\n${pt.line}`;
      segs.push(`<g class="point" data-point="${esc(pt.point)}" data-stage="${esc(pt.stage)}" data-ms="${pt.t}"><line x1="${px}" y1="@BAR" x2="${px}" y2="@END" stroke="#111" stroke-width="1.5" stroke-dasharray="3 2"/><title>${esc(title)}</title></g>`);
    }
    if (!c.ok) {
      const x0 = x(prev);
      const end = x(rowEndMs(c, ti, consoles));
      const w = Math.max(10, end - x0);
      const stage = c.failedStage ?? 'unknown stage';
      const title = `${c.client} · FAILED at ${stage} after ${seconds(prev)} s`;
      const text = `✗ ${stage}`;
      const fits = textWidth(text) + LABEL_PAD <= w;
      segs.push(`<g class="seg failed-stage" tabindex="0" role="button" data-key="${esc(`${ti}/${c.client}/!fail`)}" data-stage="${esc(stage)}" data-title="${esc(title)}">` +
        `<rect x="${x0}" y="@BAR" width="${round(w)}" height="${BAR_H}" fill="url(#${hatch})" stroke="${FAIL}" stroke-width="1.5"/><title>${esc(title)}</title>` +
        (fits ? `<text class="inside failed" x="${round(x0 + w / 2)}" y="@TXT" text-anchor="middle">${esc(text)}</text>` : '') +
        '</g>');
      if (!fits) outside.push({ text, anchor: round(x0 + w / 2), cls: 'failed' });
    }
    for (const f of c.faults ?? []) {
      if (f.appliedAt === undefined) continue;
      // A fault is a band over the bar from when it struck to when it ended (a line for one
      // that ends at once), and a label with what became of the client.
      const x0 = x(f.appliedAt);
      const w = Math.max(3, x(f.endedAt ?? f.appliedAt) - x0);
      const bad = f.outcome === 'failed';
      const text = `⚡ ${f.fault}: ${f.outcome}${f.recoveryMs === undefined ? '' : ` ${seconds(f.recoveryMs)}s`}`;
      const title = `${c.client} · ${f.fault} at ${seconds(f.appliedAt)} s${f.endedAt === undefined ? '' : ` until ${seconds(f.endedAt)} s`}: ${f.outcome}. ${f.detail}`;
      segs.push(`<g class="fault" data-fault="${esc(f.fault)}" data-outcome="${f.outcome}"><rect x="${x0}" y="@BAR" width="${round(w)}" height="${BAR_H}" ` +
        `fill="${bad ? FAIL : FAULT}" fill-opacity="0.55" stroke="${bad ? FAIL : FAULT}" stroke-width="1.5"/><title>${esc(`${title}${f.evidence?.length ? `\n${f.evidence.join('\n')}` : ''}`)}</title></g>`);
      outside.push({ text, anchor: round(x0 + w / 2), cls: bad ? 'failed' : 'fault' });
    }
    const lanes = layoutLanes(outside);
    const laneCount = Math.max(0, ...lanes.map((l) => l.lane + 1));
    const barY = y + laneCount * LANE_H + 4;
    for (const l of lanes) {
      const ly = barY - 4 - l.lane * LANE_H; // text baseline
      parts.push(`<line x1="${l.anchor}" y1="${ly + 2}" x2="${l.anchor}" y2="${barY}" stroke="#999" stroke-width="1"/>`);
    }
    for (const l of lanes) {
      const ly = barY - 4 - l.lane * LANE_H;
      parts.push(`<rect class="label-bg" x="${round(l.left - 2)}" y="${ly - 10}" width="${round(l.width + 4)}" height="13"/>` +
        `<text class="outside${l.cls ? ` ${l.cls}` : ''}" x="${round(l.left)}" y="${ly}">${esc(l.text)}</text>`);
    }
    parts.push(`<rect x="${PLOT_L}" y="${barY}" width="${PLOT_W}" height="${BAR_H}" fill="#f3f3f3"/>`);
    parts.push(...segs.map((s) => s.replaceAll('y="@BAR"', `y="${barY}"`).replaceAll('y1="@BAR"', `y1="${barY}"`).replaceAll('y2="@END"', `y2="${barY + BAR_H}"`).replaceAll('y="@TXT"', `y="${barY + BAR_H / 2 + 4}"`)));
    const total = c.stages[c.stages.length - 1]?.t;
    parts.push(`<text class="client" x="4" y="${barY + 16}" data-client="${esc(c.client)}">${esc(c.client)}${c.boots ? ` · ${esc(clientLabel(c.boots))}` : ''}${c.ok ? '' : ' ✗'}</text>`);
    if (total !== undefined) parts.push(`<text class="total" x="${GUTTER - 10}" y="${barY + 16}" text-anchor="end">${seconds(total)} s</text>`);
    y = barY + BAR_H;
    // A baseline is drawn under the clients of its own kind only.
    if (baseline && baseline.stages.length > 0 && (!baseline.client || !c.boots || sameClient(baseline.client, c.boots))) {
      const by = y + BASE_GAP;
      let acc = 0;
      for (const b of baseline.stages) {
        const x0 = x(acc);
        acc += b.medianMs;
        const kind = stageKind(b.stage);
        parts.push(`<rect class="baseline" data-stage="${esc(b.stage)}" data-ms="${b.medianMs}" x="${x0}" y="${by}" width="${round(Math.max(1, x(acc) - x0))}" height="${BASE_H}" ` +
          `fill="${KIND_COLOURS[kind].fill}" fill-opacity="0.5" stroke="#fff" stroke-width="0.5"><title>${esc(`baseline ${b.stage}: ${seconds(b.medianMs)} s (median)`)}</title></rect>`);
      }
      parts.push(`<text class="base" x="${GUTTER - 10}" y="${by + 8}" text-anchor="end">baseline ${seconds(acc)} s</text>`);
      y = by + BASE_H;
    }
    y += ROW_GAP;
  }
  parts.push(...axisMarks(axis, x, y));
  const h = y + AXIS_H;
  return `<svg class="waterfall" viewBox="0 0 ${SVG_W} ${h}" width="${SVG_W}" height="${h}" role="img" ` +
    `aria-label="${esc(`boot waterfall of ${t.clients.map((c) => c.client).join(', ')}`)}" xmlns="http://www.w3.org/2000/svg">\n${parts.join('\n')}\n</svg>`;
}

interface PlacedLabel extends Label {
  lane: number;
  left: number;
  width: number;
}

/** Greedy lanes, left to right: each label in the lowest lane it clears, centred on its segment where the plot allows. */
export function layoutLanes(labels: readonly Label[]): PlacedLabel[] {
  const ends: number[] = [];
  return [...labels].sort((a, b) => a.anchor - b.anchor).map((l) => {
    const width = textWidth(l.text);
    const left = Math.min(Math.max(l.anchor - width / 2, PLOT_L), PLOT_L + PLOT_W - width);
    let lane = ends.findIndex((end) => left >= end + LABEL_PAD);
    if (lane < 0) {
      lane = ends.length;
      ends.push(-Infinity);
    }
    ends[lane] = left + width;
    return { ...l, lane, left, width };
  });
}

function textWidth(text: string): number {
  return [...text].length * CHAR_W;
}

function axisMarks(axis: Axis, x: (ms: number) => number, y: number): string[] {
  const out = [`<line x1="${PLOT_L}" y1="${y}" x2="${PLOT_L + PLOT_W}" y2="${y}" stroke="#888" stroke-width="1"/>`];
  const ticks = Math.round(axis.endS / axis.stepS);
  for (let i = 0; i <= ticks; i++) {
    const s = i * axis.stepS;
    const tx = x(s * 1000);
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    out.push(`<line x1="${tx}" y1="${y}" x2="${tx}" y2="${y + 5}" stroke="#888" stroke-width="1"/>` +
      `<text class="axis" x="${tx}" y="${y + 17}" text-anchor="${anchor}">${esc(axisLabel(s))}</text>`);
  }
  return out;
}

function axisLabel(s: number): string {
  if (s === 0) return '0 s';
  if (s >= 120 && s % 60 === 0) return `${s / 60} min`;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** The faults the clients were put under, with what became of each client and the evidence. */
function faultTable(clients: ClientResult[]): string {
  const rows = clients.flatMap((c) => (c.faults ?? []).map((f) =>
    `<tr class="fault-${f.outcome}"><td><code>${esc(f.fault)}</code></td><td>${esc(c.client)}</td>` +
    `<td class="num">${f.appliedAt === undefined ? '' : `${seconds(f.appliedAt)} s`}</td><td class="num">${f.endedAt === undefined ? '' : `${seconds(f.endedAt)} s`}</td>` +
    `<td><b>${esc(f.outcome)}</b></td><td class="num">${f.recoveryMs === undefined ? '' : `${seconds(f.recoveryMs)} s`}</td>` +
    `<td>${esc(f.detail)}${f.evidence?.length ? `<details><summary>evidence</summary><pre>${esc(f.evidence.join('\n'))}</pre></details>` : ''}</td></tr>`));
  if (rows.length === 0) return '';
  return `<table class="faults"><thead><tr><th>fault</th><th>client</th><th class="num">applied</th><th class="num">ended</th><th>outcome</th><th class="num">recovery</th><th>what happened</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function clientTable(clients: ClientResult[]): string {
  const rows = clients.map((c) => `<tr><th>${esc(c.client)}</th><td>${c.ok ? 'booted' : `<span class="badge fail">failed at ${esc(c.failedStage ?? '?')}</span>`}</td>` +
    `<td class="boots">${c.boots ? `<b>${esc(clientLabel(c.boots))}</b>` : ''}${c.kernelVersion ? `<br><small>kernel ${esc(c.kernelVersion)}</small>` : ''}</td>` +
    `<td><code>${esc(c.mac ?? '')}</code></td><td>${esc(c.leaseIp ?? '')}</td><td class="num">${c.memoryMb === undefined ? '' : `${c.memoryMb} MiB`}</td>` +
    `<td>${c.kernelCmdline === undefined ? '<span class="hint">no kernel ran</span>' : `<code class="cmdline">${esc(c.kernelCmdline)}</code>`}</td>` +
    `<td>${[c.consoleLog === undefined ? '' : link(c.consoleLog, 'console'), c.qmpLog === undefined ? '' : link(c.qmpLog, 'QMP')].filter(Boolean).join('<br>')}</td></tr>`);
  const tails = clients.filter((c) => !c.ok && c.consoleTail?.length).map((c) =>
    `<details open><summary>${esc(c.client)}: ${esc((c.error ?? 'failed').split('\n', 1)[0] ?? '')}</summary><pre class="error">${esc((c.consoleTail ?? []).join('\n'))}</pre></details>`);
  return `<h3>Clients</h3>
<table class="clients"><thead><tr><th>client</th><th>result</th><th>boots</th><th>MAC</th><th>lease</th><th class="num">memory</th><th>kernel command line</th><th>logs</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${tails.join('\n')}`;
}

/** Stage by client: when it was reached, what it took, its budget; and the baseline's median. */
function stageTable(clients: ClientResult[], baseline: BaselineFacts | undefined, open: boolean): string {
  const ids: { stage: string; label: string }[] = [];
  for (const c of clients) for (const s of c.stages) if (!ids.some((i) => i.stage === s.stage)) ids.push({ stage: s.stage, label: s.label });
  for (const c of clients) if (!c.ok && c.failedStage && !ids.some((i) => i.stage === c.failedStage)) ids.push({ stage: c.failedStage, label: c.failedStage });
  if (ids.length === 0) return '';
  const base = new Map((baseline?.stages ?? []).map((b) => [b.stage, b.medianMs]));
  const head = `<tr><th>stage</th>${clients.map((c) => `<th class="num">${esc(c.client)} t</th><th class="num">+Δ</th><th class="num">budget</th>`).join('')}${baseline ? '<th class="num">baseline Δ</th>' : ''}</tr>`;
  const body = ids.map(({ stage, label }) => {
    const cells = clients.map((c) => {
      const s = c.stages.find((m) => m.stage === stage);
      if (!s) return !c.ok && c.failedStage === stage ? '<td class="failed" colspan="3">✗ FAILED</td>' : '<td class="missing" colspan="3">-</td>';
      const b = base.get(stage);
      const slower = b !== undefined && s.durationMs > b * 1.2 && s.durationMs - b > 1000;
      return `<td class="num">${seconds(s.t)} s</td><td class="num${slower ? ' slower' : ''}">${deltaSeconds(s.durationMs)}</td><td class="num">${s.budgetMs === undefined ? '' : `${seconds(s.budgetMs)}`}</td>`;
    });
    const b = base.get(stage);
    return `<tr><th>${esc(label)}</th>${cells.join('')}${baseline ? `<td class="num">${b === undefined ? '-' : deltaSeconds(b)}</td>` : ''}</tr>`;
  });
  return `<details${open ? ' open' : ''}><summary>stage times, budgets${baseline ? ' and baseline' : ''} (seconds)</summary>
<table class="stages"><thead>${head}</thead>
<tbody>
${body.join('\n')}
</tbody></table></details>`;
}

/** The points inside the stages, per client: where each long span's time went. */
function pointTable(clients: ClientResult[]): string {
  const rows = clients.flatMap((c) => (c.points ?? []).map((p) => {
    const i = c.stages.findIndex((s) => s.stage === p.stage);
    const begun = i > 0 ? (c.stages[i - 1]?.t ?? 0) : 0;
    const end = c.stages[i]?.t;
    return `<tr><th>${esc(c.client)}</th><td>${esc(c.stages[i]?.label ?? p.stage)}</td><td>${esc(p.label)}</td><td class="num">${seconds(p.t)} s</td>` +
      `<td class="num">${deltaSeconds(p.t - begun)}</td><td class="num">${end === undefined ? '' : deltaSeconds(end - p.t)}</td><td><code>${esc(p.line)}</code></td></tr>`;
  }));
  if (rows.length === 0) return '';
  return `<details open><summary>inside the stages: where the time went (seconds)</summary>
<table class="points"><thead><tr><th>client</th><th>stage</th><th>point</th><th class="num">t</th><th class="num">since the stage began</th><th class="num">until its end</th><th>console line</th></tr></thead>
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
  return `<a href="${esc(href)}">${esc(text)}</a>`;
}

function slugId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]+/g, '-');
}

/** JSON inside <script>: "</" and U+2028/9 cannot end the element or the string. */
function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] as string);
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

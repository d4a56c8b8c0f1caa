import type { StormResult } from './storm';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
const sec = (ms: number): string => (Number.isNaN(ms) ? '-' : (ms / 1000).toFixed(2));

/** Replay time (p50, p95, max over the clients, s) against N: one point per storm. */
export function timeAgainstN(runs: StormResult[], w = 560, h = 260): string {
  const pad = { l: 48, r: 16, t: 16, b: 36 };
  const ns = runs.map((r) => r.clients);
  const maxY = Math.max(1, ...runs.flatMap((r) => [r.summary.totalMaxMs, r.summary.totalP95Ms].filter((x) => !Number.isNaN(x)))) / 1000;
  const xs = [...new Set(ns)].sort((a, b) => a - b);
  const x = (n: number): number => pad.l + (xs.length === 1 ? (w - pad.l - pad.r) / 2 : (xs.indexOf(n) / (xs.length - 1)) * (w - pad.l - pad.r));
  const y = (s: number): number => h - pad.b - (s / maxY) * (h - pad.t - pad.b);
  const series: [string, string, (r: StormResult) => number][] = [
    ['p50', '#2b6cb0', (r) => r.summary.totalP50Ms],
    ['p95', '#dd6b20', (r) => r.summary.totalP95Ms],
    ['max', '#c53030', (r) => r.summary.totalMaxMs],
  ];
  const lines = series.map(([name, color, f]) => {
    const pts = runs.filter((r) => !Number.isNaN(f(r))).map((r) => `${x(r.clients).toFixed(1)},${y(f(r) / 1000).toFixed(1)}`);
    const dots = pts.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${color}"/>`).join('');
    return `<polyline class="series" data-series="${name}" fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>${dots}`;
  });
  const ticks = xs.map((n) => `<text x="${x(n).toFixed(1)}" y="${h - pad.b + 16}" text-anchor="middle" font-size="11">${n}</text>`).join('');
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${pad.l - 6}" y="${(y(f * maxY) + 4).toFixed(1)}" text-anchor="end" font-size="11">${(f * maxY).toFixed(1)}</text><line x1="${pad.l}" x2="${w - pad.r}" y1="${y(f * maxY).toFixed(1)}" y2="${y(f * maxY).toFixed(1)}" stroke="#eee"/>`).join('');
  const legend = series.map(([name, color], i) => `<text x="${pad.l + 8 + i * 60}" y="${pad.t + 4}" font-size="11" fill="${color}">${name}</text>`).join('');
  return `<svg id="time-vs-n" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="replay time against N">${yTicks}${ticks}${lines.join('')}${legend}<text x="${w / 2}" y="${h - 4}" text-anchor="middle" font-size="11">N replayed clients</text><text x="12" y="${h / 2}" font-size="11" transform="rotate(-90 12 ${h / 2})" text-anchor="middle">replay time (s)</text></svg>`;
}

/** A real client's stages under load: one bar, a segment per stage (width = time since the previous mark). */
export function stageTimeline(name: string, marks: StormResult['real'][number]['marks'], w = 760): string {
  const end = Math.max(1, ...marks.map((m) => m.t));
  const scale = (w - 140) / end;
  let prev = 0;
  const colors = ['#bee3f8', '#90cdf4', '#63b3ed', '#4299e1', '#3182ce', '#2b6cb0', '#2c5282', '#2a4365'];
  const segs = marks.map((m, i) => {
    const x = 130 + prev * scale;
    const wd = Math.max(1, (m.t - prev) * scale);
    prev = m.t;
    return `<rect class="stage" data-stage="${esc(m.stage)}" x="${x.toFixed(1)}" y="4" width="${wd.toFixed(1)}" height="18" fill="${colors[i % colors.length]}"><title>${esc(m.label)}: ${sec(m.t)} s</title></rect>`;
  });
  return `<svg class="real-timeline" xmlns="http://www.w3.org/2000/svg" width="${w}" height="26"><text x="0" y="17" font-size="12">${esc(name)} login ${sec(marks.find((m) => m.stage === 'login')?.t ?? NaN)} s</text>${segs.join('')}</svg>`;
}

/** The storm run's page: the curve over N, each storm's figures, each real client's timeline. */
export function stormPage(runs: StormResult[], title: string): string {
  const rows = runs
    .map((r) => `<tr><td>${r.clients}</td><td>${r.pace}</td><td>${sec(r.summary.totalP50Ms)}</td><td>${sec(r.summary.totalP95Ms)}</td><td>${sec(r.summary.totalMaxMs)}</td><td>${r.summary.latP50Ms}</td><td>${r.summary.latP95Ms}</td><td>${r.summary.latMaxMs}</td><td>${r.server.cpuPercent}</td><td>${r.server.peakNbdRssMiB}</td><td>${r.server.peakConnections}</td><td>${(r.server.bytesServed / 2 ** 20).toFixed(1)}</td><td class="errors">${r.summary.errors}</td></tr>`)
    .join('\n');
  const reals = runs.flatMap((r) => r.real.map((c) => `<div><b>N=${r.clients}</b> ${c.error ? `<span class="errors">${esc(c.error)}</span>` : stageTimeline(c.name, c.marks)}</div>`)).join('\n');
  const errors = runs.flatMap((r) => r.replayed.flatMap((c) => c.errors.map((e) => `<li>N=${r.clients} ${esc(c.name)} read #${e.read}${e.offset === undefined ? '' : ` offset ${e.offset} length ${e.length}`}: ${esc(e.what)}</li>`))).slice(0, 200).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}</style></head>
<body><h1>${esc(title)}</h1>
<h2>Replay time against N</h2>${timeAgainstN(runs)}
<h2>Storms</h2><table id="storms"><tr><th>N</th><th>pace</th><th>total p50 s</th><th>p95 s</th><th>max s</th><th>read p50 ms</th><th>p95 ms</th><th>max ms</th><th>server CPU %</th><th>nbd RSS MiB</th><th>conns</th><th>MiB served</th><th>errors</th></tr>
${rows}</table>
<h2>Real clients under load</h2>${reals || '<p>none (--real 0)</p>'}
<h2>Errors</h2>${errors ? `<ul id="errors">${errors}</ul>` : '<p id="errors">none</p>'}
</body></html>`;
}

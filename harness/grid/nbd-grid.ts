import type { ClientKind } from '../client/client-spec';

/**
 * The nbd grid (issue 24, docs/nbd-grid.md): each nbd-server version against each
 * nbd-client version, one boot per cell. This file reads a cell's boot (its
 * results.json and exit code) into what the grid records, and draws the grid as text
 * and as HTML; cli/matrix.ts runs the boots.
 */

/** How a cell's client came through `--fault nbd-restart@login`. */
export type RestartOutcome = 'came through' | 'did not' | 'not reached';

export interface NbdGridCell {
  server: string;
  client: string;
  kind: ClientKind;
  /** The root argument the client booted with (a template: {server} is the server's address). */
  rootArg: string;
  /** What the server negotiates (handshakeLabel), probed once per server version. */
  handshake: string;
  /** The boot's exit code: 0 ok, 3 a cell that could not be set up, 4 the stack failed, 5 the harness broke. */
  exitCode: number;
  login: boolean;
  nbdRestart: RestartOutcome;
  /** Where it failed: the stage and the console line that failed it (or the error's first line). */
  failure?: { stage: string; line: string };
  /** The cell's boot's run id (its containers, network and state folder carry it). */
  runId?: string;
  /** The cell's own report folder, relative to the grid's. */
  report: string;
  durationS: number;
}

/** What one cell's results.json says, the parts the grid keeps. */
export type CellBoot = Pick<NbdGridCell, 'exitCode' | 'login' | 'nbdRestart' | 'failure'>;

interface ResultsLike {
  exitCode?: number;
  tests?: { error?: { message?: string; stage?: string; consoleTail?: string[]; exitCode?: number }; clients?: { stages?: { stage: string }[] }[] }[];
}

/**
 * Reads a cell's boot (`faults`: the fault events its ./lab boot --json printed). A boot that reached login and failed afterwards failed the
 * restart (the only thing after login is the fault); one that failed before login never
 * reached it. A results.json that is missing or unreadable is the harness's (exit 5).
 */
export function cellBoot(results: unknown, exitCode: number, faults?: readonly { fault: string; outcome: string }[]): CellBoot {
  const r = (results ?? {}) as ResultsLike;
  const test = r.tests?.[0];
  const login = (test?.clients ?? []).some((c) => (c.stages ?? []).some((s) => s.stage === 'login'));
  const code = exitCode;
  // Through the restart only when the boot says the fault struck and the client recovered
  // or survived it: a boot that never applied it proves nothing about the restart.
  const struck = (faults ?? []).some((f) => f.fault.startsWith('nbd-restart') && (f.outcome === 'recovered' || f.outcome === 'survived'));
  if (code === 0) return { exitCode: 0, login, nbdRestart: login && struck ? 'came through' : 'not reached' };
  const err = test?.error;
  const message = err?.message ?? (results === undefined ? 'no results.json' : 'no error in results.json');
  const first = message.split('\n')[0] ?? '';
  // A failure pattern's or a timeout's own words end in the console line, quoted.
  const quoted = /: "(.*)"$/.exec(first)?.[1];
  const tail = (err?.consoleTail ?? []).map((l) => l.replace(/^\[\s*[\d.]+\]\s?/, '')).filter((l) => l.trim() !== '');
  const stage = err?.stage ?? (login ? 'nbd-restart@login' : code === 3 ? 'set-up' : 'boot');
  const line = quoted ?? (stage === 'nbd-restart@login' || code === 3 ? first : tail.at(-1) ?? first);
  return { exitCode: code, login, nbdRestart: login ? 'did not' : 'not reached', failure: { stage, line } };
}

/** One short word per cell: 'ok', 'login, no restart', 'fails at STAGE', 'set-up error'. */
export function cellWord(c: Pick<NbdGridCell, 'exitCode' | 'login' | 'nbdRestart' | 'failure'>): string {
  if (c.exitCode === 0) return c.nbdRestart === 'came through' ? 'ok' : 'login, restart not tried';
  if (c.exitCode === 3) return 'set-up error';
  if (c.exitCode !== 4) return `harness error (${c.exitCode})`;
  if (c.login && c.nbdRestart === 'did not') return 'login, restart lost';
  return `fails: ${c.failure?.stage ?? '?'}`;
}

/** The grid as text: a row per server (with its handshake), a column per client version. */
export function gridTable(cells: readonly NbdGridCell[], servers: readonly string[], clients: readonly string[]): string {
  const head = ['server \\ nbd-client', 'handshake', ...clients];
  const rows = servers.map((s) => {
    const row = cells.filter((c) => c.server === s);
    return [s, row[0]?.handshake ?? '?', ...clients.map((v) => {
      const c = row.find((x) => x.client === v);
      return c ? cellWord(c) : '-';
    })];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const failures = cells.filter((c) => c.exitCode !== 0).map((c) => `  ${c.server} x ${c.client}: ${c.failure?.stage ?? ''}: ${c.failure?.line ?? ''}`);
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...(failures.length ? ['', 'where each failed:', ...failures] : [])].join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The grid's page: the same table, each cell linking to its boot's own report. */
export function gridHtml(cells: readonly NbdGridCell[], servers: readonly string[], clients: readonly string[], title: string): string {
  const cell = (c: NbdGridCell | undefined): string => {
    if (!c) return '<td>-</td>';
    const cls = c.exitCode === 0 ? 'ok' : c.exitCode === 4 ? 'fail' : 'setup';
    const why = c.failure ? `<br><small>${esc(c.failure.stage)}: ${esc(c.failure.line)}</small>` : '';
    return `<td class="${cls}" data-server="${esc(c.server)}" data-client="${esc(c.client)}"><a href="${esc(c.report)}/index.html">${esc(cellWord(c))}</a>` +
      `<br><small>login: ${c.login ? 'yes' : 'no'}; nbd-restart: ${esc(c.nbdRestart)}; ${c.durationS.toFixed(0)} s</small>` +
      `<br><small><code>${esc(c.rootArg)}</code></small>${why}</td>`;
  };
  const rows = servers.map((s) => {
    const row = cells.filter((c) => c.server === s);
    return `<tr><th>${esc(s)}</th><td>${esc(row[0]?.handshake ?? '?')}</td>${clients.map((v) => cell(row.find((c) => c.client === v))).join('')}</tr>`;
  });
  return `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}.ok{background:#dfd}.fail{background:#fdd}.setup{background:#eee}</style>
<h1>${esc(title)}</h1>
<table><tr><th>server \\ nbd-client</th><th>handshake</th>${clients.map((v) => `<th>${esc(v)}</th>`).join('')}</tr>
${rows.join('\n')}
</table>
`;
}

import { relative } from 'node:path';
import { listRuns, type RunEntry } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

/** "4m 12s", "1h 03m", "35s". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function shown(path: string, cwd: string): string {
  const r = relative(cwd, path);
  return r.startsWith('..') ? path : r;
}

/**
 * The runs as `./lab ls` prints them: a line per run (id, age, what it is, its report
 * folder), then a line per client of a ./lab boot (its state, stage, lease and, when it
 * is kept, the command that attaches to it). A run whose owner died is said to be dead.
 */
export function formatRuns(runs: readonly RunEntry[], now: Date, cwd = process.cwd()): string {
  if (runs.length === 0) return 'no runs (./lab boot --keep keeps one up)';
  const lines: string[] = [];
  for (const r of runs) {
    const age = formatAge(now.getTime() - r.startedAt.getTime());
    const pid = r.owner?.split(':')[0] ?? '?';
    if (!r.alive) {
      lines.push(`${r.id}  ${age}  dead: its owner (pid ${pid}) is gone; ./lab clean reaps what it left`);
      continue;
    }
    if (!r.file) {
      lines.push(`${r.id}  ${age}  live, pid ${pid}: a lab without a run file (./lab test, bench, baseline); nothing to attach to`);
      continue;
    }
    const f = r.file;
    lines.push(`${r.id}  ${age}  ${f.kept ? 'kept' : 'booting'}, pid ${f.pid}  ${shown(f.reportDir, cwd)}/  (${f.command})`);
    const width = Math.max(...f.clients.map((c) => c.stage.length), 5);
    for (const c of f.clients) {
      const failed = c.failedStage ? ` (failed at ${c.failedStage})` : '';
      const attach = c.console ? `  ./lab attach ${f.run} ${c.name}` : '';
      const kind = f.clients.some((x) => x.kind) ? ` ${(c.kind ?? '-').padEnd(Math.max(...f.clients.map((x) => (x.kind ?? '-').length)))}` : '';
      lines.push(`  ${c.name.padEnd(6)}${kind} ${c.state.padEnd(8)} ${c.stage.padEnd(width)}  ${(c.lease ?? '-').padEnd(15)}${attach}${failed}`.trimEnd());
    }
  }
  return lines.join('\n');
}

export const LS_COMMAND: CommandSpec = {
  name: './lab ls',
  description: `Lists the runs in the state folder ($LTSP_LAB_STATE, default /run/ltsp-lab): each run's
id, age and report folder, and each client of a ./lab boot with its kind (ltsp, stock), its state (booting, up,
failed, shell, off), the last stage it reached, its lease, and for a kept run the
./lab attach command that reaches its console. A run whose owner died is listed as
dead: ./lab clean reaps it. Only the lab's own run folders are runs (they carry its
marker, ltsp-lab-run); a state folder that holds anything else is refused (exit 3).`,
  options: { json: { kind: 'flag', help: 'the runs as JSON (their run files)' } },
};

/** ./lab ls: the runs on this machine. */
export async function ls(argv: string[]): Promise<number> {
  const o = parseCommand(argv, LS_COMMAND).options;
  const runs = listRuns();
  if (o.has('json')) {
    process.stdout.write(`${JSON.stringify(runs.map((r) => ({ id: r.id, alive: r.alive, startedAt: r.startedAt.toISOString(), ...(r.owner ? { owner: r.owner } : {}), ...(r.file ? { run: r.file } : {}) })), null, 2)}\n`);
  } else {
    process.stdout.write(`${formatRuns(runs, new Date())}\n`);
  }
  return 0;
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_ROOT_ARG } from '../boot/kernel-args';
import type { ClientKind } from '../client/client-spec';
import { ensureImages, isIdleBuildLine } from '../images/image-set';
import { budgetMs } from '../common/budgets';
import { HarnessError, SetupError } from '../common/errors';
import { stepDeadline } from '../common/run-deadline';
import { Lab } from '../lab/lab';
import { handshakeLabel, probeHandshake } from '../nbd/handshake-probe';
import { ProcessGroup } from '../qemu-ts-wrapper';
import { trackStoppable } from '../common/teardown';
import { defaultRootArgFor, NBD_SERVER_DIMENSION, nbdServerPort, type NbdServerVersion } from '../server/nbd-server-version';
import { cellBoot, gridHtml, gridTable, type NbdGridCell } from './nbd-grid';

export interface NbdGridOptions {
  servers: readonly NbdServerVersion[];
  clients: readonly string[];
  kind: ClientKind;
  /** The grid's folder: results.json, index.html, a folder per cell. */
  reportDir: string;
  /** Cells booting at once (each one QEMU guest): 2, the lab's limit. */
  concurrency: number;
  /** The command that boots one cell: argv[0..] before 'boot' (the CLI's own node and main.js). */
  labCommand: readonly string[];
  onProgress?: (line: string) => void;
}

export interface NbdGridResult {
  kind: 'nbd-grid';
  servers: string[];
  clients: string[];
  client: ClientKind;
  startedAt: string;
  durationS: number;
  cells: NbdGridCell[];
}

/**
 * What each server version negotiates: a lab with that server and no client, probed
 * from the host (no QEMU). A server that cannot be set up says so in its label.
 */
async function probeServer(server: NbdServerVersion, onProgress?: (l: string) => void): Promise<string> {
  const deadline = stepDeadline(budgetMs('gridCell'), `handshake of nbd-server ${server}`);
  let lab;
  try {
    lab = await new Lab().withNbdServer(server).start({ deadline, ...(onProgress ? { onProgress: (l) => isIdleBuildLine(l) || onProgress(l) } : {}) });
    return handshakeLabel(await probeHandshake(lab.server.ip, nbdServerPort(server), 'root', deadline.child(budgetMs('listExports'), 'handshake probe')));
  } catch (e) {
    if (e instanceof SetupError) return `set-up error: ${e.message.split('\n')[0] ?? ''}`;
    throw e;
  } finally {
    await lab?.stop();
  }
}

/** Boots one cell: ./lab boot with the cell's versions, the root argument of its server, and nbd-restart@login. */
async function bootCell(opts: NbdGridOptions, server: NbdServerVersion, client: string, handshake: string): Promise<NbdGridCell> {
  const name = `${server}-x-${client}`;
  const dir = join(opts.reportDir, name);
  const rootArg = defaultRootArgFor(server) ?? LAB_ROOT_ARG;
  const [cmd, ...pre] = opts.labCommand;
  const args = [...pre, 'boot', '--nbd-server', server, '--nbd-client', client, '--client', opts.kind,
    '--root-arg', rootArg, '--fault', 'nbd-restart@login', '--report', dir, '--json'];
  opts.onProgress?.(`matrix: ${name}: ./lab ${args.slice(pre.length).join(' ')}`);
  const run = await runCell(cmd as string, args, name);
  const resultsFile = join(dir, 'results.json');
  const results: unknown = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : undefined;
  const boot = cellBoot(results, run.code ?? 5, run.faults);
  if (boot.failure && results === undefined) boot.failure.line = run.lastLine ?? boot.failure.line;
  const cell: NbdGridCell = { server, client, kind: opts.kind, rootArg, handshake, ...boot, report: name, durationS: run.seconds, ...(run.runId === undefined ? {} : { runId: run.runId }) };
  opts.onProgress?.(`matrix: ${name}: exit ${cell.exitCode}, login ${cell.login ? 'yes' : 'no'}, nbd-restart ${cell.nbdRestart}${cell.failure ? `; ${cell.failure.stage}: ${cell.failure.line}` : ''} (${cell.durationS.toFixed(0)} s)`);
  return cell;
}

/**
 * One cell's ./lab boot, in a process group of its own. A signal's teardown sends it
 * SIGTERM and waits for it, so the cell's lab is torn down by its own run, not orphaned.
 */
interface CellRun {
  code: number | null;
  seconds: number;
  lastLine?: string;
  runId?: string;
  faults?: { fault: string; outcome: string }[];
}

async function runCell(command: string, args: string[], name: string): Promise<CellRun> {
  const t0 = Date.now();
  const deadline = stepDeadline(budgetMs('gridCell'), `grid cell ${name}`);
  const proc = await ProcessGroup.spawn({ command, args, name: `cell-${name}`, env: process.env, stdin: 'ignore' });
  const stoppable = { stop: () => proc.terminate(budgetMs('teardown')) };
  trackStoppable(stoppable, true);
  let last: string | undefined;
  proc.stderr.on('data', (c: Buffer) => {
    const lines = c.toString().split('\n').filter((l) => l.trim() !== '');
    if (lines.length) last = lines.at(-1);
  });
  let stdout = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  try {
    const status = await deadline.race(proc.exited, () => new HarnessError(`grid cell ${name} did not finish within ${Math.round(deadline.totalMs / 1000)} s`));
    // --json: the boot's run id (by which a cell's leftovers are counted) and its fault events.
    let json: { runId?: string; faults?: { fault: string; outcome: string }[] } = {};
    try {
      json = JSON.parse(stdout) as typeof json;
    } catch {
      /* a boot that failed before it printed: the exit code and results.json say why */
    }
    return {
      code: status.code,
      seconds: (Date.now() - t0) / 1000,
      ...(last === undefined ? {} : { lastLine: last }),
      ...(json.runId === undefined ? {} : { runId: json.runId }),
      ...(json.faults === undefined ? {} : { faults: json.faults }),
    };
  } catch (e) {
    await proc.terminate(budgetMs('teardown'));
    throw e;
  } finally {
    trackStoppable(stoppable, false);
  }
}

/**
 * Runs the grid: each server's handshake first (one at a time, no QEMU), then every
 * cell, `concurrency` at a time, in row order. Writes results.json and index.html as
 * each cell ends, so an interrupted grid leaves what it measured.
 */
export async function runNbdGrid(opts: NbdGridOptions): Promise<NbdGridResult> {
  const t0 = Date.now();
  mkdirSync(opts.reportDir, { recursive: true });
  // Each server's images are built here, one after another (the host's cores are shared).
  const handshakes = new Map<string, string>();
  for (const s of opts.servers) {
    handshakes.set(s, await probeServer(s, opts.onProgress));
    opts.onProgress?.(`matrix: nbd-server ${s}: ${handshakes.get(s)}`);
  }
  // The clients' initramfs too, before two cells boot at once. A version that does not
  // build fails its cells as set-up errors (exit 3), not here.
  for (const c of opts.clients) {
    await ensureImages({ deadline: stepDeadline(budgetMs('gridCell'), `images of nbd-client ${c}`), nbd: { server: NBD_SERVER_DIMENSION.default, client: c }, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) })
      .then(() => undefined, (e: unknown) => {
        if (!(e instanceof SetupError)) throw e;
        opts.onProgress?.(`matrix: nbd-client ${c}: ${e.message.split('\n')[0] ?? ''}`);
      });
  }
  const result: NbdGridResult = { kind: 'nbd-grid', servers: [...opts.servers], clients: [...opts.clients], client: opts.kind, startedAt: new Date(t0).toISOString(), durationS: 0, cells: [] };
  const write = (): void => {
    result.durationS = (Date.now() - t0) / 1000;
    writeFileSync(join(opts.reportDir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(opts.reportDir, 'index.html'), gridHtml(result.cells, opts.servers, opts.clients, `nbd grid (${opts.kind} client), ${result.startedAt}`));
  };
  const todo = opts.servers.flatMap((s) => opts.clients.map((c) => [s, c] as const));
  const worker = async (): Promise<void> => {
    for (let next = todo.shift(); next; next = todo.shift()) {
      const [s, c] = next;
      result.cells.push(await bootCell(opts, s, c, handshakes.get(s) ?? '?'));
      write();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  result.cells.sort((a, b) => opts.servers.indexOf(a.server as NbdServerVersion) - opts.servers.indexOf(b.server as NbdServerVersion) || opts.clients.indexOf(a.client) - opts.clients.indexOf(b.client));
  write();
  return result;
}

/** The grid's text table. */
export function nbdGridTable(r: NbdGridResult): string {
  return gridTable(r.cells, r.servers, r.clients);
}

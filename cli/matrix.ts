import { join, resolve } from 'node:path';
import { CLIENT_DIMENSIONS, DEFAULT_CLIENT_SPEC, NBD_SERVER_DIMENSION, parseClientValue, parseNbdServer, REPORTS_ROOT, RunContext, runNbdGrid, nbdGridTable, UsageError, type ClientKind } from '../harness/index';
import { intValue, parseCommand, type CommandSpec, type Spec } from './args';


const MATRIX_SPEC = {
  servers: { kind: 'value', value: 'V[,V...]', help: `nbd-server versions (default all): ${NBD_SERVER_DIMENSION.values.join(', ')}` },
  clients: { kind: 'value', value: 'V[,V...]', help: `nbd-client versions (default all): ${CLIENT_DIMENSIONS.nbdClient.values.join(', ')}` },
  client: { kind: 'value', value: 'KIND', help: 'the client kind of every cell', choices: CLIENT_DIMENSIONS.kind.values, default: DEFAULT_CLIENT_SPEC.kind },
  'at-once': { kind: 'value', value: 'N', help: 'cells booting at once (each is one QEMU guest)', range: { min: 1, max: 2 }, default: 2 },
  report: { kind: 'value', value: 'DIR', help: "the grid's folder (default reports/matrix-RUN/)" },
} as const satisfies Spec;

export const MATRIX_COMMAND: CommandSpec = {
  name: './lab matrix',
  usage: 'nbd [options]',
  description: `Boots the nbd grid (docs/nbd-grid.md): each nbd-server version against each nbd-client
version, --at-once cells at a time. Each server's handshake is probed
first (no QEMU). Each cell is a ./lab boot --nbd-server S --nbd-client C --fault nbd-restart@login, with the
LTSP5-era root=nbd:{server}:2000 for the oldstyle server and the lab's named root
argument for the rest. Prints the grid; writes results.json and index.html (each cell
links to its boot's report) to reports/matrix-RUN/ or --report DIR.
Exit 0 the grid was measured (failed cells are findings), 2 usage, 3 a cell could not be
set up (an image that does not build: never counted as a stack failure), 5 the harness broke.`,
  args: ['[subject]'],
  options: MATRIX_SPEC,
};

export interface MatrixOptions {
  servers: string[];
  clients: string[];
  kind: ClientKind;
  atOnce: number;
  reportDir?: string;
}

/** A comma-separated list, each value checked; none given: all of them. */
function list<T extends string>(raw: string | undefined, all: readonly T[], parse: (v: string) => T, option: string): T[] {
  if (raw === undefined) return [...all];
  const vs = raw.split(',').map((v) => v.trim());
  if (vs.some((v) => v === '')) throw new UsageError(`--${option} '${raw}' has an empty value: give versions separated by commas`);
  const parsed = vs.map(parse);
  const dup = parsed.find((v, i) => parsed.indexOf(v) !== i);
  if (dup !== undefined) throw new UsageError(`--${option} names ${dup} twice`);
  return parsed;
}

export function parseMatrixArgs(argv: readonly string[]): MatrixOptions {
  const { options: o, args } = parseCommand(argv, MATRIX_COMMAND);
  if (args[0] !== 'nbd') throw new UsageError(args[0] === undefined ? './lab matrix needs a subject: nbd' : `./lab matrix has no grid '${args[0]}': the one grid is nbd`);
  const opts: MatrixOptions = {
    servers: list(o.get('servers') as string | undefined, NBD_SERVER_DIMENSION.values, parseNbdServer, 'servers'),
    clients: list(o.get('clients') as string | undefined, CLIENT_DIMENSIONS.nbdClient.values, (v) => parseClientValue('nbdClient', v), 'clients'),
    kind: o.get('client') as ClientKind,
    atOnce: intValue(o, MATRIX_SPEC, 'at-once'),
  };
  const report = o.get('report') as string | undefined;
  if (report !== undefined) opts.reportDir = report;
  return opts;
}

/** ./lab matrix: see MATRIX_COMMAND. */
export async function matrix(argv: string[]): Promise<number> {
  const opts = parseMatrixArgs(argv);
  const reportDir = resolve(opts.reportDir ?? join(REPORTS_ROOT, `matrix-${new RunContext().id}`));
  const progress = (l: string): void => void process.stderr.write(`${l}\n`);
  progress(`matrix: nbd grid: servers ${opts.servers.join(', ')} x clients ${opts.clients.join(', ')} (${opts.kind} client), ${opts.atOnce} cell(s) at a time; ${reportDir}`);
  const r = await runNbdGrid({
    servers: opts.servers.map(parseNbdServer),
    clients: opts.clients,
    kind: opts.kind,
    reportDir,
    concurrency: opts.atOnce,
    // Each cell is this CLI's own boot command, in a process group of its own.
    labCommand: [process.execPath, '--enable-source-maps', process.argv[1] as string],
    onProgress: progress,
  });
  process.stdout.write(`${nbdGridTable(r)}\n\ngrid of ${r.cells.length} cells in ${(r.durationS / 60).toFixed(1)} min\nreport: ${join(reportDir, 'index.html')}\n`);
  if (r.cells.some((c) => c.exitCode === 5)) return 5;
  return r.cells.some((c) => c.exitCode === 3) ? 3 : 0;
}

import type { StartedThinClient } from '../boot/thin-client';
import { CLIENT_DIMENSIONS, type UnionMethod } from '../client/client-spec';
import { HarnessError } from '../common/errors';
import { stepDeadline } from '../common/run-deadline';
import { ratio, spread } from '../common/spread';
import type { StartedLab } from '../lab/lab';
import { formatValue } from './bench-table';
import type { BenchCase, CaseRun } from './case-run';
import { loginMs } from './chain-breakdown';
import { withLab } from './lab-boots';
import type { DetailTable, MetricSpec } from './types';

/**
 * Issue 23: the seed's unionfs-fuse against the kernel overlay it mimics (and no union, the
 * floor), on the k12 stack's default client, one boot at a time in one lab, the methods
 * interleaved (each round starts with the next one) so that drift in the host's load hits
 * each alike. Each boot: to login, then a read-heavy and a write-heavy load timed inside
 * the guest (date +%s%N around the work; the serial shell's round trips are not in it).
 */
const METHODS: readonly UnionMethod[] = CLIENT_DIMENSIONS.union.values;
/** The method whose cost is measured, and the one it mimics. */
const SEED: UnionMethod = 'unionfs-fuse';
const KERNEL: UnionMethod = 'overlayfs';

/** Files the write-heavy load creates, then deletes. */
export const WRITE_FILES = 2000;

/** Milliseconds since the epoch in the guest (coreutils date). */
const NOW = '$(date +%s%N)';
const MS = (from: string, to: string): string => `$(( (${to} - ${from}) / 1000000 ))`;

/**
 * The read-heavy load: every file under /usr read once, the page cache dropped first (so
 * through the union and NBD, not from memory). Prints the ms it took.
 */
export const READ_LOAD = `sync; echo 3 > /proc/sys/vm/drop_caches; s=${NOW}; find /usr -type f -exec cat {} + >/dev/null 2>&1; e=${NOW}; echo ${MS('s', 'e')}`;

/**
 * The write-heavy load: WRITE_FILES small files created in one folder of the root (the
 * union's upper branch, a tmpfs), then the folder deleted. Prints the ms of each half.
 */
export const WRITE_LOAD = `d=/var/lib/ltsp-bench; mkdir -p $d; sync; s=${NOW}; i=0; while [ $i -lt ${WRITE_FILES} ]; do echo $i > $d/f$i; i=$((i+1)); done; m=${NOW}; rm -rf $d; e=${NOW}; echo ${MS('s', 'm')} ${MS('m', 'e')}`;

/**
 * What the read-heavy load reads, once per method: files and bytes under /usr. du without
 * -x: overlayfs gives a lower file the lower file system's st_dev (overlayfs.rst), which -x skips.
 */
const USR_SIZE = 'echo $(find /usr -type f | wc -l) $(du -sb /usr | cut -f1)';

/** The numbers a load printed (its last line), or a HarnessError naming the output. */
export function loadFigures(output: string, count: number, what: string): number[] {
  const last = output.trim().split('\n').at(-1)?.trim() ?? '';
  const figures = last.split(/\s+/);
  if (figures.length !== count || !figures.every((f) => /^\d+$/.test(f))) throw new HarnessError(`${what}: expected ${count} number(s) from the guest, got ${JSON.stringify(output.slice(-200))}`);
  return figures.map(Number);
}

/** The loads, as the case's metrics and the side-by-side table name them; none has no write load (its root is read-only). */
const LOADS = [
  { id: 'login', label: 'boot to login', methods: METHODS },
  { id: 'read', label: 'read all of /usr, page cache dropped', methods: METHODS },
  { id: 'write', label: `write: ${WRITE_FILES} small files created, then deleted`, methods: METHODS.filter((m) => m !== 'none') },
  { id: 'create', label: `  of it: ${WRITE_FILES} files created`, methods: METHODS.filter((m) => m !== 'none') },
  { id: 'delete', label: '  of it: the folder deleted', methods: METHODS.filter((m) => m !== 'none') },
] as const;

const metricId = (load: string, method: UnionMethod): string => `${load}-${method}`;
const costId = (load: string): string => `cost-${load}`;

function unionMetrics(): MetricSpec[] {
  return [
    ...LOADS.flatMap((l) => l.methods.map((m): MetricSpec => ({ id: metricId(l.id, m), label: `${m}: ${l.label.trim()}`, unit: 's' }))),
    ...LOADS.map((l): MetricSpec => ({ id: costId(l.id), label: `${SEED} / ${KERNEL}: ${l.label.trim()}, same round`, unit: 'x' })),
  ];
}

/**
 * The loads as rows, the methods side by side (the median over the rounds, s) and the
 * seed's cost as a share of the kernel overlay's (the median of each round's ratio). Pure; tested.
 */
export function unionTable(get: (id: string) => number[]): DetailTable {
  const median = (id: string): number | undefined => spread(get(id))?.median;
  const rows = LOADS.map((l) => [
    l.label,
    ...METHODS.map((m) => ((l.methods as readonly string[]).includes(m) ? formatValue(median(metricId(l.id, m)), 's') : '-')),
    formatValue(median(costId(l.id)), 'x'),
  ]);
  return { title: 'the union methods side by side (medians over the rounds, s)', header: ['load', ...METHODS, `${SEED} / ${KERNEL}`], rows };
}

/** One boot of a method: login, then both loads (none: the read load only); the client stopped after. */
async function bootAndLoad(lab: StartedLab, run: number, method: UnionMethod, sizes: Map<UnionMethod, string>): Promise<Record<string, number | undefined>> {
  const client: StartedThinClient = await lab.client(`${method === 'unionfs-fuse' ? 'fuse' : method === 'overlayfs' ? 'ovl' : 'none'}-r${run}`).withUnion(method).start();
  try {
    const marks = await client.waitForBoot();
    const out: Record<string, number | undefined> = { login: loginMs(marks) };
    const load = (cmd: string, what: string): Promise<string> => client.check(cmd, stepDeadline(client.budgetMs('benchLoad'), `${client.name}: ${what}`));
    if (!sizes.has(method)) sizes.set(method, await load(USR_SIZE, 'the size of /usr'));
    [out.read] = loadFigures(await load(READ_LOAD, 'the read load'), 1, `${client.name}: the read load`);
    if (method !== 'none') {
      const [create, del] = loadFigures(await load(WRITE_LOAD, 'the write load'), 2, `${client.name}: the write load`);
      Object.assign(out, { create, delete: del, write: create! + del! });
    }
    return out;
  } finally {
    await client.stop();
  }
}

export const unionCase: BenchCase = {
  name: 'union',
  title: `the union methods side by side (${METHODS.join(', ')}), one boot at a time: boot to login, all of /usr read (cache dropped), ${WRITE_FILES} files created and deleted; timed in the guest`,
  defaultRuns: 5,
  metrics: unionMetrics(),
  async run(c: CaseRun): Promise<void> {
    const sizes = new Map<UnionMethod, string>();
    await withLab(c, async (lab) => {
      for (let run = 1; run <= c.runs; run++) {
        const round: Partial<Record<UnionMethod, Record<string, number | undefined>>> = {};
        for (let k = 0; k < METHODS.length; k++) {
          const method = METHODS[(run - 1 + k) % METHODS.length]!;
          c.sampleContention();
          const got = await c.attempt(run, method, () => bootAndLoad(lab, run, method, sizes));
          if (!got) continue;
          round[method] = got;
          for (const [load, ms] of Object.entries(got)) c.metrics.add(metricId(load, method), ms === undefined ? undefined : ms / 1000);
          const fig = (k2: string): string => formatValue(got[k2] === undefined ? undefined : got[k2]! / 1000, 's');
          c.progress(`run ${run}/${c.runs}: ${method}: login ${fig('login')} s, read ${fig('read')} s${method === 'none' ? '' : `, write ${fig('write')} s`}`);
        }
        for (const l of LOADS) c.metrics.add(costId(l.id), ratio(round[SEED]?.[l.id], round[KERNEL]?.[l.id]));
        c.details.push({ run, ...round });
      }
    });
    for (const [method, size] of sizes) {
      const [files, bytes] = size.split(/\s+/).map(Number);
      c.notes.push(`${method}: the read load read ${files} files, ${formatValue((bytes ?? NaN) / 2 ** 20, 'MiB')} MiB under /usr`);
    }
    c.tables.push(unionTable((id) => c.metrics.get(id)));
  },
};

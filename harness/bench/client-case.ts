import type { StartedThinClient } from '../boot/thin-client';
import { CLIENT_KINDS, clientLabel, clientSpec, type ClientKind } from '../client/client-spec';
import { checkClientsFit } from '../common/host-resources';
import type { StartedLab } from '../lab/lab';
import type { PointMark, StageMark } from '../results/types';
import { formatValue } from './bench-table';
import { failureOf, type BenchCase, type CaseRun } from './case-run';
import { withLab } from './lab-boots';
import { ratio, spread } from '../common/spread';
import type { MetricSpec } from './types';

/** Issue 20's targets for the ltsp client (a benchmark: printed met or missed, never asserted in a test). */
const ISSUE = 'issue 20';

/** A span of a boot between two stage ids, as the case measures it. */
interface SpanDef {
  id: string;
  label: string;
  from: string | null;
  to: string;
}

/** What the case measures of each kind's boot; the first is the time to login. */
export const CLIENT_SPANS: readonly SpanDef[] = [
  { id: 'login', label: 'login (QEMU start → login prompt)', from: null, to: 'login' },
  { id: 'nbd', label: 'initramfs start → NBD connected', from: 'initramfs', to: 'nbd' },
  { id: 'userspace', label: 'system up → login', from: 'system', to: 'login' },
];

/** The issue's target of an ltsp span, seconds. */
const LTSP_TARGETS: Readonly<Record<string, number>> = { login: 15, nbd: 3, userspace: 5 };
/** ltsp login at most this share of the stock client's, in the same round. */
const RATIO_TARGET = 0.4;

/** ms of a span of a boot's marks, or undefined when a stage is missing. */
export function clientSpanMs(marks: readonly StageMark[], span: SpanDef): number | undefined {
  const at = (id: string | null): number | undefined => (id === null ? 0 : marks.find((m) => m.stage === id)?.t);
  const a = at(span.from);
  const b = at(span.to);
  return a === undefined || b === undefined ? undefined : b - a;
}

const metricId = (span: string, kind: ClientKind): string => `${span}-${kind}`;

function clientMetrics(): MetricSpec[] {
  // Grouped by kind: each kind's login, initramfs → NBD and userspace, then the next kind's.
  const perKind = CLIENT_KINDS.flatMap((kind) =>
    CLIENT_SPANS.map((s): MetricSpec => ({
      id: metricId(s.id, kind),
      label: `${kind}: ${s.label}`,
      unit: 's',
      ...(kind === 'ltsp' && LTSP_TARGETS[s.id] !== undefined ? { target: { max: LTSP_TARGETS[s.id]!, source: ISSUE } } : {}),
    })),
  );
  return [...perKind, { id: 'ratio', label: 'login ltsp / stock, same round', unit: 'x', target: { max: RATIO_TARGET, source: ISSUE } }];
}

/** One round's boots, by kind: the stage marks and the points inside them. */
export type Round = Partial<Record<ClientKind, { marks: StageMark[]; points: PointMark[] }>>;

/**
 * A client of each kind started one after the other, booted at once to login, and
 * stopped. A boot that fails keeps the stages it reached (its spans up to there are
 * measured) and its failure is given back; a client that does not start throws.
 */
async function bootRound(lab: StartedLab, run: number): Promise<{ round: Round; failed: { kind: ClientKind; error: unknown }[] }> {
  const clients: StartedThinClient[] = [];
  try {
    for (const kind of CLIENT_KINDS) clients.push(await lab.client(`r${run}-${kind}`).boots(clientSpec({ kind })).start());
    const results = await Promise.allSettled(clients.map((c) => c.waitForBoot()));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ kind: clients[i]!.client.kind, error: r.reason as unknown }] : []));
    const round = Object.fromEntries(clients.map((c) => [c.client.kind, { marks: [...c.timeline], points: [...c.points] }])) as Round;
    return { round, failed };
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()));
  }
}

/**
 * Where each kind's time went: per point, the median of its time since the stage before
 * it began, per kind ('-' where a kind does not print it). Pure; tested.
 */
export function pointTable(rounds: readonly Round[]): { header: string[]; rows: string[][] } {
  const ids: { point: string; label: string; stage: string }[] = [];
  for (const r of rounds) for (const kind of CLIENT_KINDS) for (const p of r[kind]?.points ?? []) if (!ids.some((i) => i.point === p.point)) ids.push(p);
  const since = (b: { marks: StageMark[] }, p: PointMark): number => {
    const i = b.marks.findIndex((m) => m.stage === p.stage);
    return p.t - (i > 0 ? (b.marks[i - 1]?.t ?? 0) : 0);
  };
  const rows = ids.map(({ point, label, stage }) => [
    `${label} (in ${stage})`,
    ...CLIENT_KINDS.map((kind) => {
      const values = rounds.flatMap((r) => {
        const b = r[kind];
        const p = b?.points.find((x) => x.point === point);
        return b && p ? [since(b, p) / 1000] : [];
      });
      return formatValue(spread(values)?.median, 's');
    }),
  ]);
  return { header: ['point (median s since the stage before)', ...CLIENT_KINDS], rows };
}

/**
 * Issue 20: the ltsp client (the lab's kernel, a shell initramfs) beside the stock client
 * (Debian's kernel, systemd's initramfs), one of each booting at once in one lab, per
 * round: the time to login, initramfs start to NBD connected, system up to login, and
 * ltsp's login as a share of stock's in the same round.
 */
export const clientCase: BenchCase = {
  name: 'client',
  title: `the ltsp and stock clients side by side (one of each at once per round): login, initramfs → NBD, system up → login`,
  defaultRuns: 5,
  metrics: clientMetrics(),
  async run(c: CaseRun): Promise<void> {
    try {
      checkClientsFit(CLIENT_KINDS.length, 384);
    } catch (e) {
      c.failures.push(failureOf(0, `room for ${CLIENT_KINDS.length} clients`, e));
      return;
    }
    const rounds: Round[] = [];
    await withLab(c, async (lab) => {
      c.notes.push(`kernels: ${CLIENT_KINDS.map((k) => `${k} ${lab.kernelVersionFor(clientSpec({ kind: k }))}`).join(', ')}`);
      for (let run = 1; run <= c.runs; run++) {
        c.sampleContention();
        const booted = await c.attempt(run, 'ltsp and stock side by side', () => bootRound(lab, run));
        if (!booted) continue;
        const r = booted.round;
        for (const f of booted.failed) {
          c.failures.push(failureOf(run, `${f.kind} client`, f.error));
          c.progress(`run ${run}: the ${f.kind} client FAILED: ${failureOf(run, f.kind, f.error).message}`);
        }
        rounds.push(r);
        for (const span of CLIENT_SPANS) {
          for (const kind of CLIENT_KINDS) {
            const ms = r[kind] ? clientSpanMs(r[kind].marks, span) : undefined;
            if (ms !== undefined) c.metrics.add(metricId(span.id, kind), ms / 1000);
          }
        }
        const login = (kind: ClientKind): number | undefined => (r[kind] ? clientSpanMs(r[kind].marks, CLIENT_SPANS[0]!) : undefined);
        c.metrics.add('ratio', ratio(login('ltsp'), login('stock')));
        c.progress(`run ${run}/${c.runs}: login ${CLIENT_KINDS.map((k) => `${clientLabel(clientSpec({ kind: k }))} ${formatValue((login(k) ?? NaN) / 1000, 's')} s`).join(', ')}`);
        c.details.push({ run, ...r });
      }
    });
    if (rounds.length) c.tables.push({ title: 'inside the stages: where each kind\'s time went', ...pointTable(rounds) });
  },
};

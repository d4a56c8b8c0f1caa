import type { StartedLab } from '../lab/lab';
import type { StageMark } from '../results/types';
import { bootBare } from './bare-boot';
import { formatValue } from './bench-table';
import type { BenchCase, CaseRun } from './case-run';
import { CHAIN_SEGMENTS, chainSegments, loginMs } from './chain-breakdown';
import { bootLabClient, withLab } from './lab-boots';
import { ratio, spread } from '../common/spread';
import type { DetailTable } from './types';

const ISSUE = 'issue 5';
const MODES = [
  { id: 'union', union: 'unionfs-fuse', label: 'union' },
  { id: 'plain', union: 'none', label: 'no union' },
] as const;
type Mode = (typeof MODES)[number]['id'];
type Side = 'lab' | 'bare';

const s = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

/**
 * The same kernel, initramfs and root, booted by the whole lab (iPXE, DHCP, HTTP, NBD)
 * and by bare QEMU from a local disk, with the union and without. One boot at a time,
 * interleaved lab/bare so that drift in the host's load hits both alike.
 */
export const chainCase: BenchCase = {
  name: 'chain',
  title: 'the same kernel and root: lab (iPXE, DHCP, HTTP, NBD) against bare QEMU (-kernel, local virtio disk); seconds from QEMU start',
  metrics: [
    { id: 'lab-union', label: 'lab to login, union', unit: 's' },
    { id: 'bare-union', label: 'bare to login, union', unit: 's' },
    { id: 'ratio-union', label: 'lab / bare to login, union', unit: 'x', target: { max: 1.25, source: ISSUE } },
    { id: 'lab-plain', label: 'lab to login, no union', unit: 's' },
    { id: 'bare-plain', label: 'bare to login, no union', unit: 's' },
    { id: 'ratio-plain', label: 'lab / bare to login, no union', unit: 'x' },
    { id: 'union-cost-lab', label: 'union cost, lab (union on − off, to login)', unit: 's' },
    { id: 'union-cost-bare', label: 'union cost, bare (union on − off, to login)', unit: 's' },
  ],
  async run(c: CaseRun): Promise<void> {
    await withLab(c, async (lab) => {
      for (let run = 1; run <= c.runs; run++) await chainRun(c, lab, run);
    });
    c.tables.push(...MODES.map((m) => breakdownTable(c, m.id, m.label)), unionCostTable(c));
  },
};

async function chainRun(c: CaseRun, lab: StartedLab, run: number): Promise<void> {
  const marks: Record<Side, Partial<Record<Mode, StageMark[]>>> = { lab: {}, bare: {} };
  for (const mode of MODES) {
    c.sampleContention();
    const labBoot = await c.attempt(run, `lab, ${mode.label}`, () => bootLabClient(lab, `lab-${mode.id}-r${run}`, (b) => b.withUnion(mode.union)));
    if (labBoot) marks.lab[mode.id] = labBoot.marks;
    c.progress(`run ${run}/${c.runs}: lab, ${mode.label}: login at ${formatValue(s(loginMs(labBoot?.marks ?? [])), 's')} s`);

    c.sampleContention();
    const bare = await c.attempt(run, `bare, ${mode.label}`, () =>
      bootBare({
        name: `bare-${mode.id}-r${run}`,
        kernel: lab.served.kernel,
        initrd: lab.served.initrd,
        rootImage: lab.served.rootImage,
        union: mode.union,
        stateDir: c.ctx.stateDir,
        reportDir: lab.reportDir,
        speed: lab.speed,
      }),
    );
    if (bare) marks.bare[mode.id] = bare.marks;
    c.progress(`run ${run}/${c.runs}: bare, ${mode.label}: login at ${formatValue(s(loginMs(bare?.marks ?? [])), 's')} s`);
  }

  const m = c.metrics;
  for (const mode of MODES) {
    const labLogin = loginMs(marks.lab[mode.id] ?? []);
    const bareLogin = loginMs(marks.bare[mode.id] ?? []);
    m.add(`lab-${mode.id}`, s(labLogin));
    m.add(`bare-${mode.id}`, s(bareLogin));
    m.add(`ratio-${mode.id}`, ratio(labLogin, bareLogin));
    const labMarks = marks.lab[mode.id];
    const bareMarks = marks.bare[mode.id];
    if (labMarks && bareMarks) {
      for (const seg of chainSegments(labMarks, bareMarks)) {
        m.add(`seg:${mode.id}:${seg.id}:lab`, s(seg.labMs));
        m.add(`seg:${mode.id}:${seg.id}:bare`, s(seg.bareMs));
        m.add(`seg:${mode.id}:${seg.id}:diff`, s(seg.diffMs));
      }
      m.add(`seg:${mode.id}:login:diff`, s(labLogin !== undefined && bareLogin !== undefined ? labLogin - bareLogin : undefined));
    }
  }
  for (const side of ['lab', 'bare'] as const) {
    const on = marks[side].union;
    const off = marks[side].plain;
    if (!on || !off) continue;
    const onLogin = loginMs(on);
    const offLogin = loginMs(off);
    m.add(`union-cost-${side}`, s(onLogin !== undefined && offLogin !== undefined ? onLogin - offLogin : undefined));
    // Per segment, from the lab's cuts for the lab and the bare cuts for bare.
    const onSegs = chainSegments(on, on);
    const offSegs = chainSegments(off, off);
    for (const [i, seg] of onSegs.entries()) {
      const key = side === 'lab' ? 'labMs' : 'bareMs';
      const a = seg[key];
      const b = offSegs[i]?.[key];
      m.add(`union-cost:${seg.id}:${side}`, s(a !== undefined && b !== undefined ? a - b : undefined));
    }
  }
  c.details.push({ run, marks });
}

const median = (values: number[]): number | undefined => spread(values)?.median;

function breakdownTable(c: CaseRun, mode: Mode, label: string): DetailTable {
  const m = c.metrics;
  const total = median(m.get(`seg:${mode}:login:diff`));
  const rows = CHAIN_SEGMENTS.map((seg) => {
    const diff = median(m.get(`seg:${mode}:${seg.id}:diff`));
    return [
      seg.label,
      formatValue(median(m.get(`seg:${mode}:${seg.id}:lab`)), 's'),
      seg.bare ? formatValue(median(m.get(`seg:${mode}:${seg.id}:bare`)), 's') : '-',
      formatValue(diff, 's'),
      diff !== undefined && total ? `${Math.round((100 * diff) / total)}%` : '-',
    ];
  });
  rows.push(['to login', formatValue(median(m.get(`lab-${mode}`)), 's'), formatValue(median(m.get(`bare-${mode}`)), 's'), formatValue(total, 's'), total ? '100%' : '-']);
  return { title: `where lab − bare goes, ${label} (medians over the runs, s)`, header: ['segment', 'lab', 'bare', 'lab − bare', 'share'], rows };
}

function unionCostTable(c: CaseRun): DetailTable {
  const m = c.metrics;
  const rows = CHAIN_SEGMENTS.map((seg) => [
    seg.label,
    formatValue(median(m.get(`union-cost:${seg.id}:lab`)), 's'),
    seg.bare ? formatValue(median(m.get(`union-cost:${seg.id}:bare`)), 's') : '-',
  ]);
  rows.push(['to login', formatValue(median(m.get('union-cost-lab')), 's'), formatValue(median(m.get('union-cost-bare')), 's')]);
  return { title: 'what the union costs: union on − off per segment (medians over the runs, s)', header: ['segment', 'lab', 'bare'], rows };
}

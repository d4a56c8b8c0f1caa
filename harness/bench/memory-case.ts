import { CLIENT_MEMORY_MB } from '../client/client-memory';
import { ConsoleWaitError, SutError } from '../common/errors';
import { stepDeadline } from '../common/run-deadline';
import type { StartedLab } from '../lab/lab';
import { formatValue } from './bench-table';
import type { BenchCase, CaseRun } from './case-run';
import { loginMs } from './chain-breakdown';
import { containerMemoryMib } from './container-memory';
import { withLab } from './lab-boots';
import { smallestBootingMemory, type MemoryTry } from './memory-search';
import { budgetMs } from '../common/budgets';

const DEFAULT_MB = CLIENT_MEMORY_MB.default;
const SMALLEST_MB = CLIENT_MEMORY_MB.min;
const STEP_MB = 32;

interface AtLogin {
  loginMs: number;
  rssKb?: number;
  serverMib?: number;
}

/** Boots a client with -m `mb` to login, reads the memory figures there, and stops it. */
async function bootAndMeasure(lab: StartedLab, name: string, mb: number): Promise<AtLogin> {
  const client = await lab.client(name).withMemory(mb).start();
  try {
    await client.waitForBoot();
    const rss = client.rssKb();
    const server = await containerMemoryMib(lab.server.getId(), stepDeadline(budgetMs('dockerStats'), 'docker stats of the server'));
    return { loginMs: loginMs(client.timeline) as number, ...(rss === null ? {} : { rssKb: rss }), ...(server === undefined ? {} : { serverMib: server }) };
  } finally {
    await client.stop();
  }
}

/**
 * Why a boot failed, short enough for a table cell: the failure pattern and the console
 * line it matched, or that the stage timed out or QEMU exited.
 */
export function failureSummary(e: Error): string {
  const wait = e instanceof ConsoleWaitError ? e : e.cause instanceof ConsoleWaitError ? e.cause : undefined;
  if (!wait) return e.message.split('\n')[0] ?? '';
  switch (wait.reason) {
    case 'failure-pattern': {
      const line = /: "(.*)"$/.exec(wait.message.split('\n')[0] ?? '')?.[1];
      return `${wait.matchedFailure}${line ? `: ${line.replace(/^\[\s*[\d.]+\]\s*/, '')}` : ''}`;
    }
    case 'timeout':
      return `timed out after ${Math.round(wait.elapsedMs / 1000)} s`;
    default:
      return `QEMU ${wait.reason}`;
  }
}

/** One try of the -m search: a boot that fails is an answer, not an error; a broken lab is. */
async function probe(c: CaseRun, lab: StartedLab, mb: number): Promise<MemoryTry> {
  c.sampleContention();
  const name = `mem-m${mb}`;
  const client = await lab.client(name).withMemory(mb).start();
  try {
    await client.waitForBoot();
    const t = { mb, ok: true, loginMs: loginMs(client.timeline) as number };
    c.progress(`-m ${mb}: login at ${formatValue(t.loginMs / 1000, 's')} s`);
    return t;
  } catch (e) {
    if (!(e instanceof SutError)) throw e;
    const rep = client.report();
    const t = { mb, ok: false, ...(rep.failedStage ? { failedStage: rep.failedStage } : {}), error: failureSummary(e) };
    c.progress(`-m ${mb}: failed at ${t.failedStage ?? '?'}: ${t.error}`);
    return t;
  } finally {
    await client.stop();
  }
}

export const memoryCase: BenchCase = {
  name: 'memory',
  title: `memory at login (client QEMU RSS, server container), and the smallest -m that boots to login with the union (${DEFAULT_MB} → ${SMALLEST_MB} MB, ${STEP_MB} MB steps, bisected)`,
  metrics: [
    { id: 'rss', label: `client QEMU RSS at login (-m ${DEFAULT_MB})`, unit: 'MiB' },
    { id: 'server', label: 'server container at login (docker stats)', unit: 'MiB' },
    { id: 'smallest', label: 'smallest -m that boots to login, union', unit: 'MB', target: { max: 256, source: 'real LTSP thin clients had 256 MB' } },
  ],
  async run(c: CaseRun): Promise<void> {
    await withLab(c, async (lab) => {
      let top: MemoryTry | undefined;
      for (let run = 1; run <= c.runs; run++) {
        c.sampleContention();
        const m = await c.attempt(run, `boot at -m ${DEFAULT_MB}`, () => bootAndMeasure(lab, `mem-r${run}`, DEFAULT_MB));
        if (!m) continue;
        c.metrics.add('rss', m.rssKb === undefined ? undefined : m.rssKb / 1024);
        c.metrics.add('server', m.serverMib);
        c.progress(`run ${run}/${c.runs}: QEMU RSS ${formatValue((m.rssKb ?? NaN) / 1024, 'MiB')} MiB, server ${formatValue(m.serverMib, 'MiB')} MiB`);
        c.details.push({ run, ...m });
        top ??= { mb: DEFAULT_MB, ok: true, loginMs: m.loginMs };
      }
      if (!top) return;
      // Several real boots: once per bench, not once per run.
      const search = await c.attempt(1, 'smallest -m search', () =>
        smallestBootingMemory({ from: DEFAULT_MB, to: SMALLEST_MB, step: STEP_MB, atFrom: top, probe: (mb) => probe(c, lab, mb) }),
      );
      if (!search) return;
      c.metrics.add('smallest', search.smallest);
      const f = search.largestFailing;
      c.notes.push(
        `smallest -m that reached login: ${search.smallest ?? 'none'} MB` +
          (f ? `; -m ${f.mb} failed at stage ${f.failedStage ?? '?'}: ${f.error ?? ''}` : search.smallest === SMALLEST_MB ? ` (the smallest tried)` : ''),
      );
      c.notes.push(`the -m search ran once (not per run), assuming that what boots at some -m boots with more`);
      c.tables.push({
        title: 'the -m search, in the order tried (the boot at 384 is run 1 above)',
        header: ['-m (MB)', 'result', 'login (s)', 'failed stage', 'why'],
        rows: search.tries.map((t) => [String(t.mb), t.ok ? 'login' : 'FAILED', formatValue(t.loginMs === undefined ? undefined : t.loginMs / 1000, 's'), t.failedStage ?? '', t.error ?? '']),
      });
      c.details.push({ search });
    });
  },
};

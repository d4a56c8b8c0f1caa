import { CLIENT_MEMORY_MB } from '../client/client-memory';
import type { StartedThinClient } from '../boot/thin-client';
import { checkClientsFit } from '../common/host-resources';
import type { StartedLab } from '../lab/lab';
import { formatValue } from './bench-table';
import { failureOf, type BenchCase, type CaseRun } from './case-run';
import { loginMs } from './chain-breakdown';
import { withLab } from './lab-boots';
import { ratio } from '../common/spread';

export const CONCURRENCY_LEVELS = [1, 2, 4] as const;

export interface BatchTimes {
  /** From the first QEMU spawn to the last client's login, ms. */
  allLoginMs: number;
  /** Each client's own time to login, ms since its QEMU start. */
  perClientMs: number[];
}

/**
 * When all of a batch reached login, from the first spawn. `startedAt` is each QEMU's
 * spawn (performance.now()), `login` its login mark (ms since its spawn). Pure; tested.
 */
export function batchTimes(clients: readonly { startedAt: number; login: number }[]): BatchTimes {
  const first = Math.min(...clients.map((c) => c.startedAt));
  const last = Math.max(...clients.map((c) => c.startedAt + c.login));
  return { allLoginMs: last - first, perClientMs: clients.map((c) => c.login) };
}

/** Starts `n` clients one after the other, boots them at once, and stops them all. */
async function bootBatch(lab: StartedLab, n: number, run: number): Promise<{ times: BatchTimes; rssKb: number[]; cpuS: number[] }> {
  const clients: StartedThinClient[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      clients.push(await lab.client(`n${n}-r${run}-c${i}`).start());
    }
    const rssKb: number[] = [];
    const cpuS: number[] = [];
    const results = await Promise.allSettled(
      clients.map(async (c) => {
        await c.waitForBoot();
        const rss = c.rssKb();
        if (rss !== null) rssKb.push(rss);
        const cpu = c.cpuSeconds();
        if (cpu !== null) cpuS.push(cpu);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { times: batchTimes(clients.map((c) => ({ startedAt: c.startedAt, login: loginMs(c.timeline) as number }))), rssKb, cpuS };
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()));
  }
}

/** 1, 2 and 4 clients booting at once from one server; on 2 cores, 4 clients at 2.0x one is the CPU's limit. */
export const concurrencyCase: BenchCase = {
  name: 'concurrency',
  title: '1, 2 and 4 clients booting at once from one server: from the first QEMU spawn until all reached login',
  metrics: [
    ...CONCURRENCY_LEVELS.map((n) => ({ id: `all-${n}`, label: `${n} client${n > 1 ? 's' : ''}: all at login`, unit: 's' as const })),
    { id: 'ratio-2', label: '2 clients / 1 client', unit: 'x' },
    { id: 'ratio-4', label: '4 clients / 1 client (2.0x = the 2-core limit)', unit: 'x', target: { max: 2.3, source: 'issue 5' } },
    { id: 'rss-4', label: 'QEMU RSS per client at login, 4 clients', unit: 'MiB' },
    // The same boot's work in host CPU: when it grows with the clients, TCG itself slows
    // down under contention, beyond the share of the cores each guest gets.
    ...CONCURRENCY_LEVELS.map((n) => ({ id: `cpu-${n}`, label: `QEMU CPU s per client to login, ${n} client${n > 1 ? 's' : ''}`, unit: 's' as const })),
    { id: 'cpu-ratio-4', label: 'CPU per boot, 4 clients / 1 client', unit: 'x' },
  ],
  async run(c: CaseRun): Promise<void> {
    const max = Math.max(...CONCURRENCY_LEVELS);
    try {
      checkClientsFit(max, CLIENT_MEMORY_MB.default);
    } catch (e) {
      c.failures.push(failureOf(0, `room for ${max} clients`, e));
      return;
    }
    await withLab(c, async (lab) => {
      for (let run = 1; run <= c.runs; run++) {
        const all: Record<number, number> = {};
        const cpu: Record<number, number> = {};
        for (const n of CONCURRENCY_LEVELS) {
          c.sampleContention();
          const b = await c.attempt(run, `${n} client(s)`, () => bootBatch(lab, n, run));
          if (!b) continue;
          all[n] = b.times.allLoginMs;
          c.metrics.add(`all-${n}`, b.times.allLoginMs / 1000);
          if (n === 4) for (const kb of b.rssKb) c.metrics.add('rss-4', kb / 1024);
          for (const s of b.cpuS) c.metrics.add(`cpu-${n}`, s);
          if (b.cpuS.length) cpu[n] = b.cpuS.reduce((a, x) => a + x, 0) / b.cpuS.length;
          c.progress(`run ${run}/${c.runs}: ${n} client(s): all at login after ${formatValue(b.times.allLoginMs / 1000, 's')} s`);
          c.details.push({ run, clients: n, ...b });
        }
        c.metrics.add('ratio-2', ratio(all[2], all[1]));
        c.metrics.add('ratio-4', ratio(all[4], all[1]));
        c.metrics.add('cpu-ratio-4', ratio(cpu[4], cpu[1]));
      }
    });
  },
};

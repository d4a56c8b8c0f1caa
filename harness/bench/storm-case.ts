import { checkTraceKey, DEFAULT_TRACE, readTrace } from '../storm/trace';
import { runStorm, type StormResult } from '../storm/storm';
import { failureOf, type BenchCase, type CaseRun } from './case-run';
import { withLab } from './lab-boots';
import { ratio } from '../common/spread';

export const STORM_LEVELS = [1, 10, 30, 100] as const;

/** Where replay time first grows past a quarter over one client's, the knee of the curve. */
const KNEE_RATIO = 1.25;

/**
 * Issue 25: the recorded boot replayed by 1, 10, 30 and 100 clients at once against the
 * lab's real nbd-server (no QEMU), the recorded pace. Names the knee and, beside it,
 * what each candidate cause measured: the server's CPU, its threads' wait for a CPU,
 * the replaying process's own CPU, the host's load.
 */
export const stormCase: BenchCase = {
  name: 'storm',
  title: 'a classroom at once: the recorded boot replayed by 1, 10, 30, 100 NBD clients against the real server',
  metrics: [
    ...STORM_LEVELS.map((n) => ({ id: `p95-${n}`, label: `${n} client${n > 1 ? 's' : ''}: replay time p95`, unit: 's' as const })),
    { id: 'ratio-30', label: '30 clients p95 / 1 client', unit: 'x', target: { max: 2, source: 'issue 25' } },
    { id: 'ratio-100', label: '100 clients p95 / 1 client', unit: 'x' },
    { id: 'lat-p95-100', label: '100 clients: read latency p95', unit: 's' },
  ],
  async run(c: CaseRun): Promise<void> {
    let trace;
    try {
      trace = readTrace(DEFAULT_TRACE);
    } catch (e) {
      c.failures.push(failureOf(0, 'the boot trace', e));
      return;
    }
    await withLab(c, async (lab) => {
      try {
        checkTraceKey(trace, lab.manifest.keys.root as string, DEFAULT_TRACE);
      } catch (e) {
        c.failures.push(failureOf(0, 'the boot trace', e));
        return;
      }
      const rows: string[][] = [];
      for (let run = 1; run <= c.runs; run++) {
        const by: Partial<Record<number, StormResult>> = {};
        for (const n of STORM_LEVELS) {
          c.sampleContention();
          const r = await c.attempt(run, `${n} replayed client(s)`, () => runStorm(lab, trace, { clients: n, pace: 'recorded', real: 0, jitterMs: 3000, verify: true, seed: run }));
          if (!r) continue;
          by[n] = r;
          c.metrics.add(`p95-${n}`, r.summary.totalP95Ms / 1000);
          if (n === 100) c.metrics.add('lat-p95-100', r.summary.latP95Ms / 1000);
          if (r.summary.errors) c.notes.push(`run ${run}, ${n} clients: ${r.summary.errors} error(s), first: ${r.replayed.flatMap((x) => x.errors)[0]?.what ?? ''}`);
          const perRead = r.summary.completed ? (r.server.nbdRunDelayMs / r.summary.completed).toFixed(2) : '-';
          rows.push([String(run), String(n), ...[r.summary.totalP50Ms, r.summary.totalP95Ms, r.summary.totalMaxMs].map((x) => (x / 1000).toFixed(2)), String(r.summary.latP95Ms), String(r.server.cpuPercent), perRead, String(r.harness.cpuPercent), String(r.hostLoad), String(r.summary.errors)]);
          c.progress(`run ${run}/${c.runs}: ${n} client(s): replay p95 ${(r.summary.totalP95Ms / 1000).toFixed(2)} s, server CPU ${r.server.cpuPercent} %, host load ${r.hostLoad}`);
          c.details.push({ run, clients: n, summary: r.summary, server: r.server, harness: r.harness, hostLoad: r.hostLoad });
        }
        const one = by[1]?.summary.totalP95Ms;
        c.metrics.add('ratio-30', ratio(by[30]?.summary.totalP95Ms, one));
        c.metrics.add('ratio-100', ratio(by[100]?.summary.totalP95Ms, one));
        const knee = STORM_LEVELS.find((n) => one !== undefined && (by[n]?.summary.totalP95Ms ?? 0) > one * KNEE_RATIO);
        const at = knee === undefined ? undefined : by[knee];
        c.notes.push(
          at
            ? `run ${run}: the knee is at N = ${knee} (p95 ${(at.summary.totalP95Ms / 1000).toFixed(1)} s, ${ratio(at.summary.totalP95Ms, one)?.toFixed(2)}x one client): server CPU ${at.server.cpuPercent} % of a core, its threads waited ${(at.server.nbdRunDelayMs / Math.max(1, at.summary.completed)).toFixed(2)} ms a read for a CPU, the replaying process ${at.harness.cpuPercent} %, host load ${at.hostLoad} on its cores`
            : `run ${run}: no knee up to N = ${STORM_LEVELS[STORM_LEVELS.length - 1]} (every p95 within ${KNEE_RATIO}x one client's)`,
        );
      }
      c.tables.push({ title: 'storms', header: ['run', 'N', 'p50 s', 'p95 s', 'max s', 'read p95 ms', 'server CPU %', 'run-queue wait ms/read', 'replayer CPU %', 'host load', 'errors'], rows });
    });
  },
};

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  budgetMs,
  checkStormFits,
  checkTraceKey,
  Deadline,
  DEFAULT_TRACE,
  formatStorm,
  imageKeys,
  Lab,
  readTrace,
  recordBoot,
  REPORTS_ROOT,
  RunContext,
  runStorm,
  stormPage,
  type StormResult,
} from '../harness/index';
import { intOption, parseOptions, type Spec } from './args';
import { UsageError } from '../harness/index';

export const STORM_USAGE = `./lab storm [--clients N[,N...]] [--pace recorded|max] [--real K] [--jitter-ms MS] [--no-verify] [--trace FILE] [--json]
./lab storm --record [--trace FILE]

A classroom at 8 a.m. (issue 25): N NBD connections to the lab's real nbd-server, each
replaying a recorded boot (fixtures/traces/boot.jsonl.gz) from its own start within
--jitter-ms (default 3000), with fixed newstyle and NBD_OPT_GO of the export, as the real
clients do. Per client: replay time, read latency p50/p95/max; for the server: CPU, RSS,
connections, bytes sent; every error with its request. Replies are compared with the
image file (--no-verify: not). A list of N (--clients 1,10,30) runs one storm per N in
the same lab and plots replay time against N. --real K (0..2) boots K QEMU clients
during each storm and prints their stage timelines (run it under qslot K).
--pace recorded (default) keeps the recorded gaps and waits for the reply each read
waited for; max sends the reads back to back, as many in flight as the recording had.

--record boots one real client through a recording relay in front of nbd-server and
writes the trace with the root image key it was recorded on (qslot 1). A trace of another
image is refused (exit 2). Writes reports/storm-<run>/results.json and index.html.
`;

export const STORM_SPEC: Spec = { clients: 'value', pace: 'value', real: 'value', 'jitter-ms': 'value', 'no-verify': 'flag', trace: 'value', record: 'flag', json: 'flag', seed: 'value' };

/** The most replayed clients one storm takes (the host's descriptors and ports may allow fewer). */
const MAX_CLIENTS = 1000;

export interface StormArgs {
  record: boolean;
  clients: number[];
  pace: 'recorded' | 'max';
  real: number;
  jitterMs: number;
  verify: boolean;
  trace: string;
  json: boolean;
  seed: number;
}

export function parseStormArgs(argv: readonly string[]): StormArgs {
  const o = parseOptions(argv, STORM_SPEC);
  const pace = (o.get('pace') as string | undefined) ?? 'recorded';
  if (pace !== 'recorded' && pace !== 'max') throw new UsageError(`--pace '${pace}' is not a pace`, { hint: 'one of: recorded, max' });
  const record = o.has('record');
  const clientsRaw = o.get('clients') as string | undefined;
  if (record && (clientsRaw !== undefined || o.has('real'))) throw new UsageError('--record boots one real client and replays nothing: it takes no --clients or --real');
  const clients = (clientsRaw ?? '10').split(',').map((c) => intOption(c, 'clients', 0, MAX_CLIENTS, 10));
  if (clients.includes(0) && !o.has('real')) throw new UsageError('--clients 0 replays nothing: it is for --real K alone (the real clients\' time without a storm)');
  return {
    record,
    clients,
    pace,
    real: intOption(o.get('real') as string | undefined, 'real', 0, 2, 0),
    jitterMs: intOption(o.get('jitter-ms') as string | undefined, 'jitter-ms', 0, 600_000, 3000, ' ms'),
    verify: !o.has('no-verify'),
    trace: resolve((o.get('trace') as string | undefined) ?? DEFAULT_TRACE),
    json: o.has('json'),
    seed: intOption(o.get('seed') as string | undefined, 'seed', 0, 2 ** 31, 1),
  };
}

/** ./lab storm: see STORM_USAGE. */
export async function storm(argv: string[]): Promise<number> {
  const opts = parseStormArgs(argv);
  const say = (l: string): void => void process.stderr.write(`${l}\n`);
  // Refused before anything starts: a missing or stale trace, a storm the host cannot hold.
  const trace = opts.record ? undefined : readTrace(opts.trace);
  if (trace) {
    const keys = await imageKeys({ deadline: Deadline.after(budgetMs('listExports'), 'the root image key') });
    checkTraceKey(trace, keys.root as string, opts.trace);
    for (const n of opts.clients) checkStormFits(n);
  }
  const run = new RunContext();
  const reportDir = join(REPORTS_ROOT, `storm-${run.id}`);
  mkdirSync(reportDir, { recursive: true });
  const lab = await new Lab().withRunContext(run).withReportDir(reportDir).start({ onProgress: (l) => /: cached |manifest: done/.test(l) || say(l) });
  try {
    if (!trace) {
      say(`storm: recording a boot of c1 through the relay (run ${run.id})`);
      const t = await recordBoot(lab, opts.trace);
      const h = t.header;
      process.stdout.write(`recorded ${h.requests} requests (${(h.bytesRead / 2 ** 20).toFixed(1)} MiB read, at most ${h.maxInFlight} in flight) over ${h.connections} connection(s); export open at ${(h.transmissionMs / 1000).toFixed(2)} s, login at ${(h.loginMs / 1000).toFixed(2)} s after connect\nimage key ${h.imageKey}; trace ${opts.trace}\n`);
      return 0;
    }
    const results: StormResult[] = [];
    for (const n of opts.clients) {
      say(`storm: ${n} replayed client(s)${opts.real ? ` and ${opts.real} real` : ''} against ${lab.server.ip} (run ${run.id})`);
      const r = await runStorm(lab, trace, { clients: n, pace: opts.pace, real: opts.real, jitterMs: opts.jitterMs, verify: opts.verify, seed: opts.seed, onProgress: say });
      results.push(r);
      if (!opts.json) process.stdout.write(`${formatStorm(r, n <= 30)}\n\n`);
    }
    writeFileSync(join(reportDir, 'results.json'), JSON.stringify({ kind: 'storm', runId: run.id, trace: opts.trace, storms: results }, null, 2) + '\n');
    writeFileSync(join(reportDir, 'index.html'), stormPage(results, `storm ${run.id}: ${opts.clients.join(', ')} replayed client(s)`));
    if (opts.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(`report: ${join(reportDir, 'index.html')}\n`);
    const errors = results.reduce((s, r) => s + r.summary.errors + r.real.filter((c) => c.error).length, 0);
    return errors === 0 ? 0 : 4;
  } finally {
    await lab.stop();
  }
}

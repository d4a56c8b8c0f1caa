import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  budgetMs,
  checkStormFits,
  checkTraceKey,
  Deadline,
  DEFAULT_TRACE,
  repoRoot,
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
import { intOption, intValue, parseCommand, type CommandSpec, type Spec } from './args';
import { UsageError } from '../harness/index';


/** The most replayed clients one storm takes (the host's descriptors and ports may allow fewer). */
const MAX_CLIENTS = 1000;

const PACES = ['recorded', 'max'] as const;

export const STORM_SPEC = {
  clients: { kind: 'value', value: 'N[,N...]', help: `replayed clients (0-${MAX_CLIENTS}); a list runs one storm per N in the same lab and plots replay time against N`, default: '10' },
  pace: { kind: 'value', value: 'PACE', help: 'recorded keeps the recorded gaps and waits for the reply each read waited for; max sends the reads back to back, as many in flight as the recording had', choices: PACES, default: 'recorded' },
  real: { kind: 'value', value: 'K', help: 'boot K QEMU clients during each storm and print their stage timelines (run it under qslot K)', range: { min: 0, max: 2 }, default: 0 },
  'jitter-ms': { kind: 'value', value: 'MS', help: 'each client starts within MS of the storm\'s start', range: { min: 0, max: 600_000, unit: 'ms' }, default: 3000 },
  'no-verify': { kind: 'flag', help: 'do not compare the replies with the image file' },
  trace: { kind: 'value', value: 'FILE', help: 'the trace to replay, or to write with --record', default: relative(repoRoot(), DEFAULT_TRACE) },
  record: {
    kind: 'flag',
    help: 'boot one real client through a recording relay in front of nbd-server and write the trace with the root image key it was recorded on (qslot 1); a trace of another image is refused (exit 2)',
    conflicts: { clients: 'it boots one real client and replays nothing', real: 'it boots one real client and replays nothing' },
  },
  json: { kind: 'flag', help: 'results.json on stdout' },
  seed: { kind: 'value', value: 'S', help: "the seed of the clients' start jitter (the same seed, the same starts)", range: { min: 0, max: 2 ** 31 }, default: 1 },
} as const satisfies Spec;

export const STORM_COMMAND: CommandSpec = {
  name: './lab storm',
  usage: '[options]\n       ./lab storm --record [--trace FILE]',
  description: `A classroom at 8 a.m. (issue 25): N NBD connections to the lab's real nbd-server, each replaying a recorded boot (--trace) from its own start within --jitter-ms, with fixed newstyle and NBD_OPT_GO of the export, as the real clients do. Per client: replay time, read latency p50/p95/max; for the server: CPU, RSS, connections, bytes sent; every error with its request. Replies are compared with the image file. Writes reports/storm-<run>/results.json and index.html.`,
  options: STORM_SPEC,
};

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
  const { options: o, given } = parseCommand(argv, STORM_COMMAND);
  const pace = o.get('pace') as (typeof PACES)[number];
  const record = o.has('record');
  const clients = (o.get('clients') as string).split(',').map((c) => intOption(c, 'clients', 0, MAX_CLIENTS, 0));
  if (clients.includes(0) && !given.has('real')) throw new UsageError('--clients 0 replays nothing: it is for --real K alone (the real clients\' time without a storm)');
  return {
    record,
    clients,
    pace,
    real: intValue(o, STORM_SPEC, 'real'),
    jitterMs: intValue(o, STORM_SPEC, 'jitter-ms'),
    verify: !o.has('no-verify'),
    // ./lab runs in the checkout: a relative FILE is the checkout's, as the default is.
    trace: resolve(repoRoot(), o.get('trace') as string),
    json: o.has('json'),
    seed: intValue(o, STORM_SPEC, 'seed'),
  };
}

/** ./lab storm: see STORM_COMMAND. */
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

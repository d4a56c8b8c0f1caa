import { join, resolve } from 'node:path';
import {
  checkClientsFit,
  ConsoleRelay,
  stepDeadline,
  exitCodeOf,
  ensureWritableDir,
  formatTimelineTable,
  installSignalTeardown,
  Lab,
  LabError,
  REPORTS_ROOT,
  RunContext,
  UsageError,
  writeHtmlReport,
  type ClientTimeline,
  type StartedLab,
  type StartedThinClient,
} from '../harness/index';
import { parseBootArgs, type BootOptions } from './args';
import { clean } from './clean';
import { bench } from './bench';
import { build } from './build';

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function boot(argv: string[]): Promise<number> {
  const opts: BootOptions = parseBootArgs(argv);
  checkClientsFit(opts.clients, opts.memoryMb);
  const run = new RunContext();
  const reportDir = resolve(opts.reportDir ?? join(REPORTS_ROOT, `boot-${run.id}`));
  ensureWritableDir(reportDir, 'report folder');
  const startedAt = new Date();
  const t0 = performance.now();
  const clients: StartedThinClient[] = [];
  // The clients power on while the server container starts (see LabStartOptions).
  const powerOn = async (lab: StartedLab): Promise<void> => {
    for (let i = 0; i < opts.clients; i++) {
      let b = lab.client(`c${i + 1}`).withMemory(opts.memoryMb).withNic(opts.nic).withUnion(opts.union).withExportName(opts.exportName);
      if (opts.append) b = b.withAppend(opts.append);
      const mac = opts.macs[i];
      if (mac) b = b.withMac(mac);
      clients.push(await b.start(stepDeadline(60_000 * lab.speed.factor, `start client c${i + 1}`)));
    }
  };
  const lab: StartedLab = await new Lab().withRunContext(run).withReportDir(reportDir).start({ onProgress: progress, whileServerStarts: powerOn });
  let failed: unknown;
  try {
    try {
      progress(`lab: run ${run.id}: ${clients.length} client(s) booting (${lab.speed.accel}, speed factor ${lab.speed.factor}); consoles in ${reportDir}`);
      const results = await Promise.allSettled(clients.map((c) => c.waitForBoot()));
      failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    } catch (e) {
      failed = e;
    }
    await printReport(opts, argv, run.id, reportDir, lab, clients, startedAt, !failed);
    if (opts.keep && !failed) await keepUp(reportDir, clients);
  } finally {
    await lab.stop();
  }
  progress(`lab: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; nothing left running`);
  if (failed) throw failed;
  return 0;
}

/** The timeline table (or JSON) on stdout, and the HTML report; returns its path. */
async function printReport(opts: BootOptions, argv: string[], runId: string, reportDir: string, lab: StartedLab, clients: StartedThinClient[], startedAt: Date, ok: boolean): Promise<string> {
  const timelines: ClientTimeline[] = clients.map((c) => c.report());
  const html = await writeHtmlReport(reportDir, {
    runId,
    title: `./lab boot ${argv.join(' ')}`.trim(),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    clients: timelines,
    serverLog: 'server.log',
  });
  if (opts.json) {
    // Epoch ms, so a caller can time this process from outside (./lab bench, case overhead).
    const stamped = clients.map((c, i) => {
      const qemuSpawnedAt = Math.round(performance.timeOrigin + c.qemu.startedAt);
      const login = c.timeline.find((m) => m.stage === 'login');
      return { ...timelines[i], qemuSpawnedAt, ...(login ? { loginSeenAt: qemuSpawnedAt + login.t } : {}) };
    });
    process.stdout.write(JSON.stringify({ runId, reportDir, report: html, speed: lab.speed, clients: stamped, ok }, null, 2) + '\n');
  } else {
    process.stdout.write(`\n${formatTimelineTable(timelines)}\n\nreport: ${html}\n`);
  }
  return html;
}

/** --keep: a console socket per client, then wait for Ctrl-C (the signal teardown stops the lab). */
async function keepUp(reportDir: string, clients: StartedThinClient[]): Promise<never> {
  const relays = await Promise.all(clients.map((c) => ConsoleRelay.listen(join(reportDir, c.name, 'console.sock'), c.qemu.process.stdout, c.qemu.process.stdin!)));
  for (const [i, c] of clients.entries()) {
    process.stderr.write(`lab: ${c.name} (${c.mac}, ${c.leaseIp ?? '?'}): socat -,raw,echo=0 UNIX-CONNECT:${relays[i]!.path}   log: ${join(c.dir, 'console.log')}\n`);
  }
  process.stderr.write('lab: the lab stays up until Ctrl-C\n');
  return new Promise<never>(() => undefined);
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  boot,
  bench: (argv) => bench(argv),
  build: (argv) => build(argv),
  clean: (argv) => clean(argv),
};

async function main(): Promise<number> {
  installSignalTeardown();
  const [cmd, ...argv] = process.argv.slice(2);
  const fn = cmd ? COMMANDS[cmd] : undefined;
  if (!fn) throw new UsageError(`unknown command '${cmd ?? ''}'`, { hint: `one of: ${Object.keys(COMMANDS).join(', ')}` });
  return fn(argv);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const kind = e instanceof LabError ? { usage: 'usage', setup: 'set-up problem', sut: 'the system under test failed', harness: 'the harness broke' }[e.kind] : 'unexpected error';
    process.stderr.write(`lab: ${kind}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof LabError && e.hint) process.stderr.write(`lab: hint: ${e.hint}\n`);
    if (!(e instanceof LabError) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(exitCodeOf(e));
  },
);

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  checkBaselines,
  checkClientsFit,
  checkExport,
  checkStateRoot,
  describeLeftovers,
  removeIfEmpty,
  checkWritableDir,
  formatTimelineTable,
  isIdleBuildLine,
  Lab,
  REPORTS_ROOT,
  RunContext,
  BootRunReport,
  REPORT_FILES,
  RegressionError,
  SutError,
  budgetStretch,
  formatFaultEvents,
  runFaults,
  type FaultEvent,
  type ClientTimeline,
  type StartedLab,
  type StartedThinClient,
  type LoginCredentials,
  interceptSignal,
  RunPublisher,
  clientLabel,
  clientSpec,
  type ClientSpec,
  type BootStageId,
} from '../harness/index';
import { parseBootArgs, type BootOptions } from './args';
import { compareBoots, configureClient } from './compare';

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** ./lab boot: see BOOT_COMMAND. */
export async function boot(argv: string[]): Promise<number> {
  const opts: BootOptions = parseBootArgs(argv);
  const run = new RunContext();
  const reportDir = resolve(opts.reportDir ?? join(REPORTS_ROOT, `boot-${run.id}`));
  // The lab's default kind (the accelerator probe's kernel) is the first client's: a run of stock clients needs no ltsp images.
  const builder = new Lab().withRunContext(run).withReportDir(reportDir).withServerInit(opts.serverInit).withNbdServer(opts.nbdServer).withClient(opts.boots[0] ?? clientSpec());
  if (opts.rootPath !== undefined) builder.withRootPath(opts.rootPath, opts.exportName);
  checkBootUpFront(opts, builder);
  // A bad state folder is refused (exit 3) before a report folder is made or anything reaped.
  checkStateRoot();
  const madeReportDir = !existsSync(reportDir);
  // Made by the lab once it has something to put there.
  checkWritableDir(reportDir, 'report folder');
  const startedAt = new Date();
  const t0 = performance.now();
  // The run's first line: what its clients boot.
  progress(`lab: ${describeBoots(opts.boots)}`);
  const clients: StartedThinClient[] = [];
  const command = `./lab boot ${argv.join(' ')}`.trim();
  // What ./lab ls, attach and stop read (in the run's state folder), from the first client on.
  let publisher: RunPublisher | undefined;
  const consoles = new Map<string, string>();
  // The clients power on while the server container starts (see LabStartOptions).
  const powerOn = async (lab: StartedLab): Promise<void> => {
    publisher ??= new RunPublisher(lab, () => clients, { command, startedAt });
    for (let i = 0; i < opts.clients; i++) {
      let b = configureClient(opts)(lab.client(`c${i + 1}`)).boots(opts.boots[i] ?? lab.defaultClient);
      const mac = opts.macs[i];
      if (mac) b = b.withMac(mac);
      // Kept: a failure is what a person wants to look at, so a wrong export boots too, into dracut's shell.
      if (opts.keep) b = b.withRescueShell().withExportUnchecked();
      const c = await b.start();
      clients.push(c);
      // Served from power-on, so a person can watch the boot itself (./lab attach).
      if (opts.keep) consoles.set(c.name, await c.serveConsole());
      publisher.write();
    }
  };
  // Written however the run ends: a lab that does not start, a failed boot, a signal.
  const report = new BootRunReport(reportDir, command, () => clients, startedAt);
  let lab: StartedLab;
  try {
    // Judged boots, and boots under faults (which act from the first DHCP on), start once the server is up.
    const later = opts.compare || opts.faults.length > 0;
    lab = await builder.start({ onProgress: (l) => isIdleBuildLine(l) || progress(l), ...(later ? {} : { whileServerStarts: powerOn }) });
  } catch (e) {
    await writeReportOf(report, e);
    if (madeReportDir) removeIfEmpty(reportDir);
    throw e;
  }
  report.attachLab(lab);
  publisher ??= new RunPublisher(lab, () => clients, { command, startedAt });
  let failed: unknown;
  let faults: FaultEvent[] = [];
  try {
    try {
      progress(`lab: run ${run.id}: ${opts.clients} client(s) booting (${kernelsOf(lab, opts.boots)}; ${lab.speed.accel}, speed factor ${lab.speed.factor}); consoles in ${reportDir}`);
      if (opts.keep && lab.exports && !lab.exports.includes(opts.exportName)) {
        progress(`lab: the server has no NBD export '${opts.exportName}' (it has: ${lab.exports.join(', ') || 'none'}); booting it all the same (--keep), to look at the failure`);
      }
      if (opts.compare) {
        // Judged boots start once the server is up, as the baseline's did.
        const gate = await compareBoots(lab, async () => (await powerOn(lab), clients), opts, progress);
        report.results.gate = gate.verdict;
        if (gate.verdict.verdict === 'regression') failed = new RegressionError(gate.verdict);
      } else {
        // Without faults the clients powered on while the server started.
        if (opts.faults.length > 0) await powerOn(lab);
        for (const c of clients) c.stretchBudgets(budgetStretch(opts.faults));
        const boots = clients.map((c) => c.waitForBoot());
        for (const b of boots) b.catch(() => undefined);
        const faulting = runFaults(opts.faults, { server: lab.server, network: lab.network, clients, boots }, { onProgress: progress });
        const results = await Promise.allSettled(boots);
        failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
        faults = await faulting;
        if (!failed && opts.login) failed = await logInAll(lab, clients, opts.login);
        const broken = faults.filter((f) => f.outcome === 'failed');
        if (!failed && broken.length > 0) {
          failed = new SutError(`the stack did not come through ${broken.map((f) => `${f.fault} (${f.client}: ${f.detail})`).join('; ')}`, { hint: 'the faults table above has the evidence' });
        }
      }
    } catch (e) {
      failed = e;
    }
    // A server held from outside (docker pause) fails the boots, but not through the stack.
    failed = await lab.blame(failed);
    publisher.write();
    await printReport(opts, run.id, report, lab, clients, failed, faults);
    if (opts.keep) {
      const broke = await keepUp(lab, clients, consoles, publisher);
      // The lab broke while kept (Docker gone, the bridge deleted): that, over the boots' own result.
      if (broke !== undefined) failed = broke;
    }
  } finally {
    await lab.stop();
    report.close();
  }
  // Counted, not assumed: a teardown that could not reach Docker leaves things behind.
  progress(`lab: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${describeLeftovers(await lab.leftovers())}`);
  if (failed) throw failed;
  return 0;
}

/** "client ltsp (c1), ..." for the run's first line: each kind and the clients that boot it. */
export function describeBoots(boots: readonly ClientSpec[]): string {
  const byKind = new Map<string, string[]>();
  boots.forEach((b, i) => byKind.set(clientLabel(b), [...(byKind.get(clientLabel(b)) ?? []), `c${i + 1}`]));
  return [...byKind].map(([label, names]) => `client ${label} (${names.join(', ')})`).join(', ');
}

/** "kernel 6.1.0-50-amd64 for stock, ..." once the lab knows its images. */
function kernelsOf(lab: StartedLab, boots: readonly ClientSpec[]): string {
  const kinds = [...new Map(boots.map((b) => [clientLabel(b), b])).values()];
  return kinds.map((b) => `${clientLabel(b)}: kernel ${lab.kernelVersionFor(b)}`).join(', ');
}

/**
 * What can be known wrong before anything starts (no image build, no container, no
 * QEMU): the clients' memory, the baselines a gated boot is judged against, an export
 * the server will not offer (--keep boots it all the same, to look at the failure).
 */
export function checkBootUpFront(opts: BootOptions, lab: Lab): void {
  checkClientsFit(opts.clients, opts.memoryMb);
  if (opts.compare) checkBaselines();
  const offered = lab.configuredExports();
  if (!opts.keep && offered !== undefined) checkExport(opts.exportName, offered);
}

/**
 * --login: the user logs in at each client's console at once, the stack's way, and each
 * session's prompt is its "session up" mark; the first failure, or undefined. The
 * sessions stay open (with --keep, ./lab attach finds the user's shell).
 */
async function logInAll(lab: StartedLab, clients: StartedThinClient[], login: LoginCredentials): Promise<unknown> {
  const server = await lab.loginServer();
  const results = await Promise.allSettled(clients.map(async (c) => {
    const session = await c.logIn(login, server);
    progress(`lab: ${c.name}: ${login.user} logged in (${session.method.id}), session up at ${(session.mark.t / 1000).toFixed(1)} s`);
  }));
  return results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
}

/** The timeline table (or JSON) on stdout, and the HTML report; returns its path. */
async function printReport(opts: BootOptions, runId: string, report: BootRunReport, lab: StartedLab, clients: StartedThinClient[], failed: unknown, faults: FaultEvent[]): Promise<string> {
  const timelines: ClientTimeline[] = clients.map((c) => c.report());
  const reportDir = report.dir;
  const ok = !failed;
  const html = await writeReportOf(report, failed);
  if (opts.json) {
    // Epoch ms, so a caller can time this process from outside (./lab bench, case overhead).
    const stamped = clients.map((c, i) => {
      const qemuSpawnedAt = Math.round(performance.timeOrigin + c.startedAt);
      const login = c.timeline.find((m) => m.stage === 'login');
      return { ...timelines[i], qemuSpawnedAt, ...(login ? { loginSeenAt: qemuSpawnedAt + login.t } : {}) };
    });
    process.stdout.write(JSON.stringify({ runId, reportDir, report: html, speed: lab.speed, clients: stamped, ok, ...(faults.length ? { faults } : {}) }, null, 2) + '\n');
  } else {
    const faultLines = faults.length ? `\n\n${formatFaultEvents(faults)}` : '';
    process.stdout.write(`\n${formatTimelineTable(timelines)}${faultLines}\n\nreport: ${html}\n`);
  }
  return html;
}

/** Writes the boot's report; a report that cannot be written is said, not thrown over the run's own error. */
async function writeReportOf(report: BootRunReport, failed: unknown): Promise<string> {
  try {
    return (await report.write(failed ?? undefined)).html;
  } catch (e) {
    if (failed) {
      progress(`lab: the report could not be written: ${e instanceof Error ? e.message : String(e)}`);
      return join(report.dir, REPORT_FILES.html);
    }
    throw e;
  }
}

/** Stages a client fails at while dracut runs (after "Run /init", before switch_root): it can reach dracut's shell. */
const INITRAMFS_FAILURES: ReadonlySet<string> = new Set<BootStageId>(['nbd', 'root', 'union', 'switch-root']);

/**
 * --keep: the lab stays up, whether the boots passed or failed, until Ctrl-C or `./lab
 * stop RUN` (a SIGTERM); a client that failed in the initramfs is followed to dracut's
 * emergency shell (bounded by RESCUE_SHELL's budget). Returns the error that ended it
 * early when the lab itself broke.
 */
async function keepUp(lab: StartedLab, clients: StartedThinClient[], consoles: ReadonlyMap<string, string>, publisher: RunPublisher): Promise<unknown> {
  const run = lab.run.id;
  let stopping = false;
  let removeIntercept: () => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (removeIntercept = interceptSignal(resolve)));
  publisher.keep(consoles);
  for (const c of clients) {
    // A guest powered off from inside (poweroff at its shell) is 'off' in ./lab ls.
    void c.exited.then(() => stopping || publisher.write());
    const where = c.state === 'failed' ? `failed at ${c.failedStage}` : c.state === 'up' ? 'at its login' : c.state;
    progress(`lab: ${c.name} (${c.mac}, ${c.leaseIp ?? 'no lease'}, ${where}): ./lab attach ${run} ${c.name}`);
    if (c.state !== 'failed' || !INITRAMFS_FAILURES.has(c.failedStage ?? '')) continue;
    const t0 = performance.now();
    c.waitForRescueShell().then(
      () => {
        publisher.write();
        progress(`lab: ${c.name} is at dracut's emergency shell (${((performance.now() - t0) / 1000).toFixed(1)} s after its boot failed; Enter for a root shell): ./lab attach ${run} ${c.name}`);
      },
      (e: unknown) => stopping || progress(`lab: ${c.name} did not reach dracut's emergency shell: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`),
    );
  }
  progress(`lab: the lab stays up until Ctrl-C or ./lab stop ${run}; ./lab ls lists it`);
  const watch = lab.watch();
  try {
    await Promise.race([stopped, watch.promise]);
    progress(`lab: stopping run ${run}`);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    stopping = true;
    watch.stop();
    removeIntercept();
  }
}

import { expect } from 'chai';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkTraceKey, countEstablished, DEFAULT_TRACE, Deadline, imageKeys, readTrace, replayClient, runStorm, stormPage, type PlannedRead, type StartedLab, type StormResult, type Trace, hostBudgetMs } from '../harness/index';
import { leftovers, NOTHING } from './support/leftovers';
import { runLab } from './support/lab-cli';
import { until } from './support/outcome';
import { startSuiteLab } from './support/suite-lab';
import { openBrowser } from './support/browser';
import { testReportDir } from './support/report-dir';

/*
 * A classroom at 8 a.m. (issue 25), small: ten replays of the recorded boot against the
 * lab's real nbd-server at once, no QEMU. Every reply is compared with the image file the
 * server serves, read on the host.
 */
describe('storm: ten replayed boots at once against the real nbd-server @full', function () {
  let lab: StartedLab | undefined;
  let trace: Trace;
  let storm: StormResult;
  let alone: StormResult;

  before(async function () {
    trace = readTrace(DEFAULT_TRACE);
    lab = await startSuiteLab(this.test!.parent!);
    // The committed trace is of the image this lab serves (else ./lab storm would refuse it, as tested below).
    checkTraceKey(trace, lab.manifest.keys.root as string, DEFAULT_TRACE);
    alone = await runStorm(lab, trace, { clients: 1, pace: 'recorded', real: 0, jitterMs: 0, verify: true });
    storm = await runStorm(lab, trace, { clients: 10, pace: 'recorded', real: 0, jitterMs: 2000, verify: true });
  });

  after(async function () {
    const id = lab?.run.id;
    await lab?.stop();
    if (id) expect(await leftovers(id)).to.deep.equal(NOTHING);
  });

  it('every request of every client completed, each reply byte-identical to the image', function () {
    const reads = trace.rows.filter((r) => r[1] === 0).length;
    for (const c of storm.replayed) {
      expect(c.errors, `${c.name}'s errors`).to.deep.equal([]);
      expect([c.completed, c.verified], `${c.name}: completed, verified`).to.deep.equal([reads, reads]);
      expect(c.totalMs, `${c.name}'s replay time`).to.be.a('number').and.not.NaN;
    }
    expect(storm.summary.completed).to.equal(10 * reads);
  });

  it('the server held ten connections at once, and sent at least what the clients read', function () {
    expect(storm.server.peakConnections).to.be.at.least(10);
    expect(storm.server.bytesServed).to.be.at.least(10 * trace.header.bytesRead);
  });

  it('leaves no connection open on the server once it returned', async function () {
    const d = Deadline.after(hostBudgetMs('hostCommand'), 'the storm\'s connections to close');
    await until(d, async () => {
      const tcp = await lab!.server.sh('cat /proc/net/tcp /proc/net/tcp6 2>/dev/null', true, d);
      return countEstablished(tcp.output.replace(/^\s*sl.*$/gm, '')) === 0 ? true : undefined;
    });
  });

  it('the page plots replay time against N in chromium: a point per storm on each of p50, p95, max', async function () {
    const dir = testReportDir(this.test!);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'index.html');
    writeFileSync(file, stormPage([alone, storm], 'storm scenario'));
    const browser = await openBrowser();
    try {
      await browser.page.goto(pathToFileURL(file).href);
      const series = await browser.page.$$eval('#time-vs-n polyline.series', (ls) => ls.map((l) => [l.getAttribute('data-series'), (l.getAttribute('points') ?? '').trim().split(/\s+/).length]));
      expect(series).to.deep.equal([['p50', 2], ['p95', 2], ['max', 2]]);
      const box = await browser.page.locator('#time-vs-n').boundingBox();
      expect(box?.width).to.be.above(400);
      expect(await browser.page.locator('#storms tr').count()).to.equal(3);
      expect(await browser.page.locator('#errors').innerText()).to.equal('none');
    } finally {
      await browser.close();
    }
  });

  it('a connect-and-drop storm: 100 clients connect within 3 s, read and reset their connections; a whole replay after it is byte-identical', async function () {
    const d = Deadline.after(hostBudgetMs('stormReplay'), 'the connect-and-drop storm');
    const nbdProcs = async (): Promise<number> => Number((await lab!.server.sh("grep -lx nbd-server /proc/[0-9]*/comm 2>/dev/null | wc -l", true, d)).output.trim());
    const before = await nbdProcs();
    const plan: PlannedRead[] = trace.rows.filter((r) => r[1] === 0).map((r) => ({ offset: r[2], length: r[3], gapMs: 0, dep: -1, afterDepMs: 0 }));
    const common = { host: lab!.server.ip, port: 10809, exportName: trace.header.exportName, plan, pace: 'max' as const, maxInFlight: trace.header.maxInFlight, startMs: 0, deadline: d };
    // Spread as a classroom's power-on is: 100 connects at the same instant overflow
    // nbd-server's listen backlog of 10 (docs/storm.md), which this test does not pin.
    const dropped = await Promise.all(Array.from({ length: 100 }, (_, i) => d.sleep(i * 30).then(() => replayClient({ ...common, name: `d${i + 1}`, dropAfter: 5 }))));
    for (const r of dropped) expect([r.completed, r.errors], `${r.name}: reads before the drop, errors`).to.deep.equal([5, []]);
    // nbd-server forks a process per client; how many outlive their client's reset is a
    // finding (docs/storm.md), not pinned here: what is pinned is that the server serves on.
    process.stderr.write(`      nbd-server processes: ${before} before the storm, ${await nbdProcs()} after its resets\n`);
    const fd = openSync(lab!.served.rootImage, 'r');
    try {
      const after = await replayClient({ ...common, name: 'after', imageFd: fd });
      expect([after.errors, after.verified], 'a whole replay after the storm: errors, replies equal to the image').to.deep.equal([[], plan.length]);
    } finally {
      closeSync(fd);
    }
  });

  it('a trace recorded against another root image is refused (exit 2), saying how to record one', async function () {
    // A salt changes every image key (vm-images/build.sh --keys), as a changed recipe would.
    const env = { LTSP_LAB_KEY_SALT: `storm-${process.pid}` };
    const salted = await imageKeys({ deadline: Deadline.after(hostBudgetMs('imageKeys'), 'salted keys'), env });
    expect(salted.root).to.not.equal(trace.header.imageKey);
    const r = await runLab(['storm', '--clients', '2'], { env, timeoutMs: hostBudgetMs('labCommand') });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.include(`recorded against root image ${trace.header.imageKey}, and the current root image is ${salted.root}`);
    expect(r.stderr).to.include('qslot 1 ./lab storm --record');
  });
});

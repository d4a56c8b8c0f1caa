import { expect } from 'chai';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FIXTURES_DIR, readConsoleLog, resultsSchemaErrors, writeRunReport, type RunResults } from '../harness/index';
import { openBrowser, type OpenBrowser } from './support/browser';
import { testReportDir } from './support/report-dir';

/*
 * The run report page in a real browser (Debian's chromium, driven by playwright-core),
 * made from a recorded `./lab boot --clients 2` (fixtures/runs/boot-2-clients: its
 * results.json and consoles). No boot: a few seconds.
 */

const RECORDED = join(FIXTURES_DIR, 'runs', 'boot-2-clients');

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlap = (a: Box, b: Box): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('report page: the waterfall of a recorded two-client boot, in chromium @smoke', function () {
  let browser: OpenBrowser | undefined;
  let recorded: RunResults;

  before(async function () {
    recorded = JSON.parse(readFileSync(join(RECORDED, 'results.json'), 'utf8')) as RunResults;
    expect(resultsSchemaErrors(recorded), 'the recorded results.json is a valid one').to.deep.equal([]);
    browser = await openBrowser(1120, 900);
  });

  after(async () => browser?.close());

  /** The recorded run, re-rendered into the test's folder by the one report writer (with `edit` applied). */
  function page(dir: string, edit: (r: RunResults) => void = () => undefined): string {
    rmSync(dir, { recursive: true, force: true });
    cpSync(RECORDED, dir, { recursive: true, dereference: true });
    const r = structuredClone(recorded);
    edit(r);
    return writeRunReport(dir, r, dir).html;
  }

  it('draws a bar per client with its stages in order, each as wide as the stage took, the baseline beside it, and no label over another', async function () {
    const dir = join(testReportDir(this.test!), 'page');
    const html = page(dir);
    const p = browser!.page;
    await p.goto(`file://${html}`);
    const clients = recorded.tests[0]!.clients;
    expect(clients.map((c) => c.client)).to.deep.equal(['c1', 'c2']);
    for (const c of clients) {
      const segs = p.locator(`.seg[data-key^="0/${c.client}/"]`);
      expect(await segs.evaluateAll((els) => els.map((e) => e.getAttribute('data-stage'))), `${c.client}: stages`).to.deep.equal(c.stages.map((s) => s.stage));
      const widths = await segs.evaluateAll((els) => els.map((e) => (e.querySelector('rect') as typeof e).getBoundingClientRect().width));
      const bar = widths.reduce((a, b) => a + b, 0);
      const total = c.stages.reduce((a, s) => a + s.durationMs, 0);
      c.stages.forEach((s, i) => {
        // Proportions: each segment's share of the bar is its stage's share of the boot (1.5 px minimum width, 1 px of rounding).
        expect(Math.abs((widths[i] as number) - (s.durationMs / total) * bar), `${c.client} ${s.stage}: ${widths[i]} px of ${bar}`).to.be.below(2.5);
      });
      // The baseline's bars, on the same scale (the recorded run was compared).
      expect(recorded.baseline, 'the recorded run carries its baseline').to.not.equal(undefined);
      {
        const base = await p.locator(`svg.waterfall rect.baseline`).evaluateAll((els) => els.map((e) => ({ stage: e.getAttribute('data-stage'), w: e.getBoundingClientRect().width })));
        const pxPerMs = bar / total;
        const b = recorded.baseline!.stages;
        expect(base.length).to.equal(b.length * clients.length);
        b.forEach((s, i) => expect(Math.abs((base[i]?.w ?? 0) - s.medianMs * pxPerMs), `baseline ${s.stage}`).to.be.below(2.5));
      }
    }
    // Labels: no two share a pixel, and one inside a segment stays inside it.
    const labels = await p.locator('svg.waterfall text.inside, svg.waterfall text.outside').evaluateAll((els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      const seg = e.closest('.seg')?.querySelector('rect')?.getBoundingClientRect();
      return { text: e.textContent, box: { x: r.x, y: r.y, width: r.width, height: r.height }, seg: seg ? { x: seg.x, width: seg.width } : undefined };
    }));
    expect(labels.length).to.be.at.least(clients.reduce((n, c) => n + c.stages.length, 0));
    for (const [i, a] of labels.entries()) {
      if (a.seg) expect(a.box.x >= a.seg.x && a.box.x + a.box.width <= a.seg.x + a.seg.width, `"${a.text}" fits its segment`).to.equal(true);
      for (const b of labels.slice(i + 1)) expect(overlap(a.box, b.box), `"${a.text}" and "${b.text}" overlap`).to.equal(false);
    }
    // The page names the accelerator and why, the speed factor and the kernel command line.
    const text = await p.locator('body').innerText();
    expect(text).to.contain(`${recorded.host.accel}: ${recorded.host.accelReason}`);
    expect(text).to.contain(`speed factor ${recorded.host.speedFactor}`);
    expect(text).to.contain(clients[0]!.kernelCmdline!);
    // A click on a segment shows that stage's console lines: from after the previous mark up to its own.
    const c2 = clients[1]!;
    const nbdAt = c2.stages.findIndex((s) => s.stage === 'nbd');
    const nbd = c2.stages[nbdAt]!;
    await p.locator('.seg[data-key="0/c2/nbd"]').click();
    const panel = p.locator('#console-0');
    expect(await panel.isVisible()).to.equal(true);
    expect(await panel.locator('.title').innerText()).to.contain('c2 · NBD connected');
    const shown = (await panel.locator('pre').innerText()).split('\n');
    const log = readConsoleLog(join(dir, c2.consoleLog!));
    const expected = log.filter((l) => l.t > c2.stages[nbdAt - 1]!.t && l.t <= nbd.t).map((l) => l.text);
    expect(shown.at(-1), 'ends with the line that marked the stage').to.equal(nbd.line);
    expect(shown.slice(-expected.length)).to.deep.equal(expected.slice(-300));
    expect(shown).not.to.include(c2.stages[nbdAt - 1]!.line);
    const shot = join(dir, 'screenshot.png');
    await p.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`      screenshot: ${relative(process.cwd(), shot)}\n`);
  });

  it('marks the failing stage, and a click on it shows the console lines after the last mark', async function () {
    const dir = join(testReportDir(this.test!), 'page');
    // The same run as if c2 had stopped after "NBD connected": it failed at "root mounted".
    const html = page(dir, (r) => {
      const c2 = r.tests[0]!.clients[1]!;
      const at = c2.stages.findIndex((s) => s.stage === 'nbd');
      c2.stages = c2.stages.slice(0, at + 1);
      c2.ok = false;
      c2.failedStage = 'root';
      r.outcome = 'fail';
      r.tests[0]!.outcome = 'fail';
    });
    const p = browser!.page;
    await p.goto(`file://${html}`);
    const failed = p.locator('.seg.failed-stage');
    expect(await failed.count()).to.equal(1);
    expect(await failed.getAttribute('data-stage')).to.equal('root');
    expect(await p.locator('svg.waterfall text.failed').first().textContent()).to.contain('root');
    await failed.click();
    const lines = (await p.locator('#console-0 pre').innerText()).split('\n');
    const root = recorded.tests[0]!.clients[1]!.stages.find((s) => s.stage === 'root')!;
    expect(lines, 'the lines after "NBD connected": the failed stage\'s').to.include(root.line);
    await p.screenshot({ path: join(dir, 'screenshot-failed.png'), fullPage: true });
  });
});

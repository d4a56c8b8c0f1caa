import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { bootStages, FIXTURES_DIR, resultsSchemaErrors, type RunResults, hostBudgetMs } from '../harness/index';
import { runLab, type CliResult } from './support/lab-cli';

/*
 * A failed ./lab boot still leaves its report: results.json (valid against the schema),
 * junit.xml and index.html, with the failing stage and the console tail; ./lab report
 * reads it back as a table, and sets it against the recorded two-client run. The
 * client's kernel command line says mem=24M, and iPXE, which honours mem= when it
 * places the initrd, finds no room below it: "Could not boot", at "kernel start", a few
 * seconds in (the quickest real failure of the chain).
 */
const TOO_LITTLE_MEMORY = 'mem=24M';

describe('run report: a failed ./lab boot writes its report, and ./lab report reads it @smoke', function () {
  let boot: CliResult;
  let dir: string;
  let results: RunResults;

  before(async function () {
    boot = await runLab(['boot', '--append', TOO_LITTLE_MEMORY], { timeoutMs: hostBudgetMs('labBoot') });
    const html = /^report: (.+)$/m.exec(boot.stdout)?.[1];
    expect(html, `./lab boot printed no report path (exit ${boot.code}):\n${boot.stdout}\n${boot.stderr.slice(-3000)}`).to.be.a('string');
    dir = dirname(html!);
    results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults;
  });

  it('exits 4, and results.json is valid and names the failing stage, its error class and the console tail', function () {
    expect(boot.code, boot.stderr.slice(-3000)).to.equal(4);
    expect(resultsSchemaErrors(results)).to.deep.equal([]);
    expect([results.kind, results.outcome, results.exitCode]).to.deep.equal(['boot', 'fail', 4]);
    const t = results.tests[0]!;
    expect(t.error?.class).to.equal('BootStageError');
    const c1 = t.clients[0]!;
    expect(c1.ok).to.equal(false);
    // It failed in the stage after its last mark, which the error names too, and the
    // console tail holds the line that failed it.
    const order = bootStages().map((s) => s.id);
    expect(c1.stages.map((s) => s.stage)).to.deep.equal(order.slice(0, order.indexOf('fetched') + 1));
    expect(c1.failedStage).to.equal('kernel');
    expect(t.error?.stage).to.equal('kernel start (kernel)');
    // The tail holds the line that failed it; iPXE may already have begun its next line
    // (the tail ends with the unterminated line as it stood: CI once saw "C").
    const failing = (c1.consoleTail ?? []).filter((l) => /^Could not boot: /.test(l));
    expect(failing, `the console tail:\n${(c1.consoleTail ?? []).join('\n')}`).to.have.length.above(0);
    expect(c1.kernelCmdline, 'no kernel ran to print one').to.equal(undefined);
    // Each stage it passed has its budget in the report, and took less than it.
    for (const s of c1.stages) {
      expect(s.budgetMs, `${s.stage}'s budget`).to.be.a('number');
      expect(s.budgetMs!, `${s.stage} took ${s.durationMs} ms`).to.be.above(s.durationMs);
    }
    expect(results.host.accelReason).to.be.a('string').and.not.equal('');
    // junit.xml: a failure with its real duration; the page marks the failed stage.
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).to.match(new RegExp(`<testcase [^>]*name="c1 boots to login" time="(\\d+\\.\\d+)">\n\\s*<failure message="failed at ${c1.failedStage}`));
    // A real duration (NixOS's JUnit says 0): c1's time up to its last mark, as results.json has it.
    const junitS = Number(/time="(\d+\.\d+)"/.exec(junit.slice(junit.indexOf('<testcase')))?.[1]);
    expect(junitS).to.be.above(0).and.equal(Number((c1.stages.at(-1)!.t / 1000).toFixed(3)));
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).to.match(new RegExp(`<g class="seg failed-stage" [^>]*data-stage="${c1.failedStage}"`));
  });

  it('./lab report prints its timeline and the page; --against sets it beside the recorded two-client run', async function () {
    const r = await runLab(['report', dir], { timeoutMs: hostBudgetMs('labCommand') });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^kernel and initramfs fetched\s+[\d.]+\s+\+[\d.]+$/m);
    expect(r.stdout).to.match(new RegExp(`^c1 FAILED at ${results.tests[0]!.clients[0]!.failedStage}: `, 'm'));
    expect(r.stdout).to.include(`report: ${relative(process.cwd(), join(dir, 'index.html'))}`);
    const d = await runLab(['report', dir, '--against', join(FIXTURES_DIR, 'runs', 'boot-2-clients')], { timeoutMs: hostBudgetMs('labCommand') });
    expect(d.code, d.stderr).to.equal(0);
    expect(d.stdout).to.match(/^DHCP lease\s+[\d.]+\s+2\.2\s+[+-][\d.]+\s+[+-]\d+%$/m);
    expect(d.stdout).to.match(/^NBD connected\s+-\s+32\.8\s+-\s+-$/m);
    expect(d.stdout).to.include(`c1 A FAILED at ${results.tests[0]!.clients[0]!.failedStage}`);
  });
});

import { expect } from 'chai';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../common/errors';
import { LogSlicer } from '../results/log-slices';
import { twoClientRun } from '../results/results-fixture';
import { formatReportDiff, mergedStageOrder } from './run-diff';
import { clientSpec } from '../client/client-spec';
import { stageConsoles, writeRunReport } from './run-report';

describe('writeRunReport', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'lab-reports-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes results.json, junit.xml with real durations and index.html, and points latest at the run', () => {
    const dir = join(root, 'boot-abc123');
    const out = writeRunReport(dir, twoClientRun(), root);
    expect(JSON.parse(readFileSync(out.results, 'utf8'))).to.deep.equal(twoClientRun());
    const junit = readFileSync(out.junit, 'utf8');
    expect(junit).to.match(/<testcase classname="boot.boot-abc123" name="c1 boots to login" time="46.100">/);
    expect(junit).to.match(/<testcase [^>]*name="c2 boots to login" time="2.800">\n\s*<failure message="failed at kernel: timed out" type="failure">/);
    expect(junit).to.match(/<testsuites name="ltsp-lab boot" tests="2" failures="1" errors="0" skipped="0" time="65.500">/);
    expect(readFileSync(out.html, 'utf8')).to.contain('<!doctype html>');
    expect(readlinkSync(join(root, 'latest'))).to.equal('boot-abc123');
    writeRunReport(join(root, 'boot-def456'), twoClientRun(), root);
    expect(readlinkSync(join(root, 'latest'))).to.equal('boot-def456');
  });

  it('a folder where reports/latest or a report file should be: no temp file is left beside it', () => {
    mkdirSync(join(root, 'latest'));
    writeRunReport(join(root, 'boot-abc123'), twoClientRun(), root);
    const dir = join(root, 'boot-def456');
    mkdirSync(join(dir, 'results.json'), { recursive: true });
    expect(() => writeRunReport(dir, twoClientRun(), root)).to.throw(/results\.json/);
    expect(readdirSync(root).sort()).to.deep.equal(['boot-abc123', 'boot-def456', 'latest']);
    expect(readdirSync(dir)).to.deep.equal(['results.json']);
  });

  it('still writes a report the schema refuses, then says the harness broke its format', () => {
    const bad = { ...twoClientRun(), outcome: 'meh' } as unknown as ReturnType<typeof twoClientRun>;
    expect(() => writeRunReport(join(root, 'bad'), bad, root)).to.throw(HarnessError, /outcome: must be equal to one of/);
    expect(existsSync(join(root, 'bad', 'results.json'))).to.equal(true);
  });

  it('gives each stage the console lines up to its mark, and a failed client the lines after its last', () => {
    const dir = join(root, 'run');
    mkdirSync(join(dir, 'c1'), { recursive: true });
    mkdirSync(join(dir, 'c2'), { recursive: true });
    writeFileSync(join(dir, 'c1', 'console.log'), ['[   0.100] SeaBIOS', '[   0.400] iPXE 1.21', '[   1.000] DHCP...', '[   2.500] net0: ok', '[  40.000] late'].join('\n') + '\n');
    writeFileSync(join(dir, 'c2', 'console.log'), ['[   0.500] iPXE', '[   2.800] net0: ok', '[   9.000] Linux version', '[  12.000] panic'].join('\n') + '\n');
    const c = stageConsoles(dir, twoClientRun());
    expect(c['0/c1/ipxe']?.lines).to.deep.equal(['SeaBIOS', 'iPXE 1.21']);
    expect(c['0/c1/dhcp']?.lines).to.deep.equal(['DHCP...', 'net0: ok']);
    expect(c['0/c1/login']?.lines).to.deep.equal(['late']);
    expect(c['0/c2/!fail']).to.deep.equal({ lines: ['Linux version', 'panic'], omitted: 0, endMs: 12_000 });
  });
});

describe('LogSlicer', () => {
  it('gives each test what the shared logs got since the previous cut', () => {
    const root = mkdtempSync(join(tmpdir(), 'lab-slices-'));
    try {
      const lab = join(root, 'suite');
      mkdirSync(join(lab, 'c1'), { recursive: true });
      writeFileSync(join(lab, 'server.log'), 'server up\n');
      writeFileSync(join(lab, 'c1', 'console.log'), 'boot\n');
      const s = new LogSlicer();
      expect(s.cut(lab, join(lab, 't1')).sort()).to.deep.equal(['c1/console.log', 'server.log']);
      appendFileSync(join(lab, 'c1', 'console.log'), 'reset\n');
      expect(s.cut(lab, join(lab, 't2'))).to.deep.equal(['c1/console.log']);
      expect(readFileSync(join(lab, 't1', 'c1', 'console.log'), 'utf8')).to.equal('boot\n');
      expect(readFileSync(join(lab, 't2', 'c1', 'console.log'), 'utf8')).to.equal('reset\n');
      // A test's own folder is never taken for a client's.
      expect(s.cut(lab, join(lab, 't3'))).to.deep.equal([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('formatReportDiff', () => {
  it('sets each stage of run A against run B, per client, with the difference', () => {
    const a = twoClientRun();
    const b = twoClientRun();
    b.runId = 'boot-old';
    const nbd = b.tests[0]?.clients[0]?.stages.find((s) => s.stage === 'nbd');
    if (nbd) nbd.durationMs = 8750;
    const text = formatReportDiff(a, b);
    expect(text).to.contain('boot-abc123 against boot-old');
    expect(text).to.match(/^NBD connected\s+17\.5\s+8\.8\s+\+8\.8\s+\+100%$/m);
    expect(text).to.match(/^iPXE start\s+0\.4\s+0\.4\s+\+0\.0\s+\+0%$/m);
    expect(text).to.contain('c2 A FAILED at kernel');
    expect(text).to.not.contain('booted the');
  });

  it('says so when the clients set side by side booted different kinds', () => {
    const a = twoClientRun();
    const b = twoClientRun();
    a.tests[0]!.clients[0]!.boots = clientSpec({ kind: 'ltsp' });
    b.tests[0]!.clients[0]!.boots = clientSpec({ kind: 'stock' });
    expect(formatReportDiff(a, b)).to.contain('note: c1 A booted the ltsp client, c1 B the stock client');
  });

  it('sets a k12 boot beside an ltsp23 boot stage by stage: shared stages on one row, each stack\'s own where it falls', () => {
    const k12 = ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'union', 'switch-root', 'system', 'login'];
    const ltsp23 = ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'ltsp-overlay', 'ltsp-init', 'system', 'login'];
    expect(mergedStageOrder(ltsp23, k12)).to.deep.equal(['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'union', 'switch-root', 'ltsp-overlay', 'ltsp-init', 'system', 'login']);
    expect(mergedStageOrder(k12, ltsp23)).to.deep.equal(['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'ltsp-overlay', 'ltsp-init', 'union', 'switch-root', 'system', 'login']);
    expect(mergedStageOrder(k12, k12)).to.deep.equal(k12);
    const a = twoClientRun();
    const b = twoClientRun();
    const c1 = a.tests[0]!.clients[0]!;
    const template = c1.stages[0]!;
    const labels: Record<string, string> = { root: 'root mounted', 'ltsp-overlay': "LTSP's initrd-bottom (overlay)", union: 'union mounted', system: 'system up' };
    const stagesOf = (ids: string[]): typeof c1.stages => ids.map((id, i) => ({ ...template, stage: id, label: labels[id] ?? id, t: (i + 1) * 1000, durationMs: 1000 }));
    c1.boots = clientSpec({ stack: 'ltsp23' });
    c1.stages = stagesOf(ltsp23);
    b.tests[0]!.clients[0]!.boots = clientSpec({ kind: 'stock' });
    b.tests[0]!.clients[0]!.stages = stagesOf(k12);
    const text = formatReportDiff(a, b);
    expect(text).to.contain('note: c1 A booted the stock stack ltsp23 client, c1 B the stock client');
    const rows = text.split('\n').map((l) => l.split(/\s{2,}/)[0]);
    expect(rows.indexOf("LTSP's initrd-bottom (overlay)")).to.be.greaterThan(rows.indexOf('root mounted'));
    expect(rows.indexOf("LTSP's initrd-bottom (overlay)")).to.be.lessThan(rows.indexOf('system up'));
    expect(text).to.match(/^LTSP's initrd-bottom \(overlay\)\s+[\d.]+\s+-\s+-\s+-$/m);
  });
});

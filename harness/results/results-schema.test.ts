import { expect } from 'chai';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from '../bench/types';
import type { HostSpeed } from '../common/speed';
import { benchResults } from '../bench/bench-results';
import { finishResults, startResults } from '../report/lab-results';
import { resultsSchemaErrors } from './results-schema';
import { twoClientRun } from './results-fixture';
import { clientResult } from './run-facts';
import { TestRunReport } from '../report/test-run-report';
import type { ClientTimeline, RunResults } from './types';
import { CLIENT_KINDS, clientSpec, DEFAULT_CLIENT_SPEC } from '../client/client-spec';

const SPEED: HostSpeed = { accel: 'tcg', accelReason: 'no /dev/kvm', calibrationMs: 70, factor: 1.15, cores: 2 };
const TIMELINE: ClientTimeline = {
  client: 'c1', mac: '52:54:00:00:00:01', ok: false, failedStage: 'nbd', error: 'boot stage failed',
  stages: [{ stage: 'ipxe', label: 'iPXE start', t: 400, line: 'iPXE 1.21', budgetMs: 36_000 }, { stage: 'dhcp', label: 'DHCP lease', t: 2500, line: 'net0: 10.0.0.2/255.255.255.0' }],
  consoleLog: 'c1/console.log', qmpLog: 'c1/qmp.log', memoryMb: 384,
};

describe('results.schema.json', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-schema-'));
    mkdirSync(join(dir, 'c1'));
    writeFileSync(join(dir, 'c1', 'console.log'), '[   0.400] iPXE 1.21\n[   5.000] Command line: BOOT_IMAGE=vmlinuz root=nbd:x\n[   9.000] nbd: connect failed\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a ./lab boot run, with the host, images, a failed client and its console tail', () => {
    const r = startResults('boot', 'boot-x', './lab boot', new Date(), SPEED);
    r.images = { keys: { root: 'k' }, rootSha256: 'f'.repeat(64) };
    const c = clientResult(TIMELINE, dir);
    expect(c.kernelCmdline).to.equal('BOOT_IMAGE=vmlinuz root=nbd:x');
    expect(c.consoleTail).to.deep.equal(['iPXE 1.21', 'Command line: BOOT_IMAGE=vmlinuz root=nbd:x', 'nbd: connect failed']);
    expect(c.stages.map((s) => [s.kind, s.durationMs, s.budgetMs])).to.deep.equal([['firmware', 400, 36_000], ['network', 2100, undefined]]);
    r.tests = [{ id: '.', title: 'boot', outcome: 'fail', durationMs: 9000, clients: [c], error: { class: 'BootStageError', kind: 'sut', exitCode: 4, message: 'x', stage: 'NBD connected (nbd)', consoleTail: ['nbd: connect failed'] } }];
    finishResults(r, 'fail', 4);
    expect(resultsSchemaErrors(r)).to.deep.equal([]);
    expect(resultsSchemaErrors(twoClientRun())).to.deep.equal([]);
  });

  it("a failed client's console tail is the one it failed with, not the end of a log QEMU went on writing", () => {
    const c = clientResult({ ...TIMELINE, failureTail: ['iPXE 1.21', 'Could not boot: Error 0x2a818006'] }, dir);
    expect(c.consoleTail).to.deep.equal(['iPXE 1.21', 'Could not boot: Error 0x2a818006']);
  });

  it('takes a ./lab test run: tests, a skipped one, data, and a gate verdict per test', () => {
    const report = new TestRunReport(dir, 'test-1', './lab test');
    report.noteLab({ speed: SPEED });
    report.add({ id: 'suite/t1', title: 'suite t1', outcome: 'pass', durationMs: 1200, clients: [clientResult({ ...TIMELINE, ok: true }, dir, 'suite/t1')], data: { builds: [{ ms: 3 }] } });
    report.add({ id: 'suite/t2', title: 'suite t2', outcome: 'skipped', durationMs: 0, clients: [] });
    report.add({ id: 'gate/t3', title: 'gate', outcome: 'fail', durationMs: 5, clients: [],
      gate: { verdict: 'regression', profile: 'tcg-2cpu', reason: 'nbd +20 s', stages: [{ stage: 'nbd', baselineMs: 17_000, measuredMs: 37_000, deltaMs: 20_000, regressed: true }] },
      error: { class: 'RegressionError', kind: 'regression', exitCode: 6, message: 'slower' } });
    finishResults(report.results, 'fail', 1);
    expect(resultsSchemaErrors(report.results)).to.deep.equal([]);
  });

  it('takes a ./lab bench run, its boots as clients', () => {
    const bench: BenchReport = {
      runId: 'b1', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), runs: 1, file: 'x/bench.json',
      host: { cores: 2, accel: 'tcg', accelReason: 'no /dev/kvm', speedFactor: 1.1, loadAvg1: 0.3, otherQemu: 0 },
      cases: [{ name: 'chain', title: 'lab against bare', runs: 1, metrics: [], tables: [], notes: [], seconds: 80,
        failures: [{ run: 1, step: 'lab', kind: 'BootStageError', exitCode: 4, message: 'failed' }], details: [{ lab: { report: TIMELINE } }] }],
    } as unknown as BenchReport;
    const r = benchResults(bench, dir, SPEED);
    expect(r.tests[0]?.clients.map((c) => c.client)).to.deep.equal(['c1']);
    expect(r.tests[0]?.error?.kind).to.equal('sut');
    expect(resultsSchemaErrors(r)).to.deep.equal([]);
  });

  it("takes a client's lab faults, and refuses a fault with an outcome it does not know", () => {
    const r = twoClientRun();
    const c = r.tests[0]!.clients[0]!;
    c.faults = [{ fault: 'nbd-restart@login', outcome: 'failed', appliedAt: 35_000, detail: 'no longer works', evidence: ['c1 [35.1] block nbd0: shutting down sockets'] }];
    expect(resultsSchemaErrors(r)).to.deep.equal([]);
    (c.faults[0] as { outcome: string }).outcome = 'fine';
    expect(resultsSchemaErrors(r).join('\n')).to.match(/faults\/0\/outcome/);
  });

  it("takes each client's kind, kernel version and points, and refuses a kind the one list of kinds does not have", () => {
    const tl: ClientTimeline = {
      ...TIMELINE,
      boots: clientSpec({ kind: 'ltsp' }),
      kernelVersion: '6.1.158-ltsp-lab',
      points: [{ point: 'link-up', label: 'link up (lab0)', stage: 'nbd', t: 2600, line: 'lab0: renamed from eth0' }],
    };
    const r = finishResults(startResults('boot', 'boot-k', 'boot', new Date(), SPEED), 'fail', 4);
    const c = clientResult(tl, dir);
    expect(c.boots).to.deep.equal({ kind: 'ltsp', nbdClient: '3.24', stack: 'k12', union: 'unionfs-fuse' });
    expect(c.kernelVersion).to.equal('6.1.158-ltsp-lab');
    expect(c.points).to.have.length(1);
    r.tests = [{ id: '.', title: 'boot', outcome: 'fail', durationMs: 1, clients: [c] }];
    expect(resultsSchemaErrors(r)).to.deep.equal([]);
    for (const kind of CLIENT_KINDS) {
      const each = structuredClone(r);
      each.tests[0]!.clients[0]!.boots = { kind, nbdClient: DEFAULT_CLIENT_SPEC.nbdClient, stack: DEFAULT_CLIENT_SPEC.stack, union: 'overlayfs' };
      expect(resultsSchemaErrors(each), kind).to.deep.equal([]);
    }
    const bad = JSON.parse(JSON.stringify(r)) as { tests: { clients: { boots: unknown; points: unknown[] }[] }[] };
    bad.tests[0]!.clients[0]!.boots = { kind: 'nfs' };
    expect(resultsSchemaErrors(bad).join('\n')).to.match(/\/tests\/0\/clients\/0\/boots\/kind: must be equal to one of the allowed values \(ltsp,stock\)/);
    bad.tests[0]!.clients[0]!.boots = { kind: 'ltsp' };
    bad.tests[0]!.clients[0]!.points = [{ point: 'x', stage: 'nbd', t: 1 }];
    expect(resultsSchemaErrors(bad).join('\n')).to.match(/points\/0: must have required property/);
  });

  it('refuses what is not a results.json: no version, a wrong kind, an unknown field, a gate without a verdict', () => {
    const ok = twoClientRun();
    const broken: [string, unknown, RegExp][] = [
      ['no version', { ...ok, schemaVersion: undefined }, /must have required property 'schemaVersion'/],
      ['version 2', { ...ok, schemaVersion: 2 }, /schemaVersion: must be equal to constant/],
      ['kind', { ...ok, kind: 'nap' }, /kind: must be equal to one of the allowed values/],
      ['unknown field', { ...ok, timings: [] }, /must NOT have additional properties 'timings'/],
      ['gate', { ...ok, gate: { profile: 'p', reason: 'r', stages: [] } }, /gate: must have required property 'verdict'/],
      ['stage kind', { ...ok, tests: [{ ...(ok.tests[0] as RunResults['tests'][number]), clients: [{ client: 'c', ok: true, stages: [{ stage: 's', label: 'S', kind: 'bios', t: 1, durationMs: 1, line: '' }] }] }] }, /kind: must be equal to one of/],
      ['host', { ...ok, host: { ...ok.host, accelReason: undefined } }, /host: must have required property 'accelReason'/],
    ];
    for (const [what, data, re] of broken) {
      const errors = resultsSchemaErrors(JSON.parse(JSON.stringify(data)));
      expect(errors.join('\n'), what).to.match(re);
    }
  });
});

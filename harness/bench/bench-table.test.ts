import { expect } from 'chai';
import { formatBenchReport, formatMetrics, formatTextTable, formatValue, missedTargets } from './bench-table';
import type { BenchReport, CaseResult } from './types';

function benchCase(over: Partial<CaseResult> = {}): CaseResult {
  return {
    name: 'images-warm',
    title: 'a warm (no-op) image build',
    runs: 3,
    metrics: [
      { id: 'warm', label: 'warm build', unit: 's', target: { max: 5, source: 'issue 5' }, values: [1.2, 1.1, 1.4], min: 1.1, median: 1.2, max: 1.4, met: true },
    ],
    tables: [],
    notes: [],
    failures: [],
    details: [],
    seconds: 12.4,
    ...over,
  };
}

function report(cases: CaseResult[]): BenchReport {
  return {
    runId: 'abc123',
    startedAt: '2026-01-01T00:00:00.000Z',
    host: { cores: 2, accel: 'tcg', speedFactor: 1.02, loadAvg1: 0.5, otherQemu: 0 },
    runs: 3,
    cases,
    file: 'reports/bench-abc123/bench.json',
  };
}

describe('bench table', () => {
  it('formatTextTable: the first column left, numbers right, a rule under the header', () => {
    expect(formatTextTable(['stage', 'lab', 'bare'], [['DHCP', '5.6', '-'], ['userspace', '25.1', '20.0']])).to.equal(
      ['stage       lab  bare', '---------  ----  ----', 'DHCP        5.6     -', 'userspace  25.1  20.0'].join('\n'),
    );
  });

  it('formatTextTable: a column with words in it reads left to right', () => {
    expect(formatTextTable(['-m', 'result', 'why'], [['384', 'login', ''], ['192', 'FAILED', 'Kernel panic']])).to.equal(
      ['-m   result  why', '---  ------  ------------', '384  login', '192  FAILED  Kernel panic'].join('\n'),
    );
  });

  it('formatValue: seconds, ratios and memory, and "-" for nothing', () => {
    expect(formatValue(84.25, 's')).to.equal('84.3');
    expect(formatValue(1.234, 's')).to.equal('1.23');
    expect(formatValue(1.5, 'x')).to.equal('1.50x');
    expect(formatValue(411.6, 'MiB')).to.equal('412');
    expect(formatValue(undefined, 's')).to.equal('-');
  });

  it('formatMetrics: min, median, max, the target and whether it is met', () => {
    const text = formatMetrics([
      { id: 'r', label: 'lab / bare to login, union', unit: 'x', values: [1.6, 1.5], min: 1.5, median: 1.55, max: 1.6, target: { max: 1.25, source: 'issue 5' }, met: false },
      { id: 'l', label: 'lab to login, union', unit: 's', values: [84.2], min: 84.2, median: 84.2, max: 84.2 },
      { id: 'n', label: 'never measured', unit: 's', values: [], target: { max: 3, source: 'issue 5' } },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).to.match(/^metric\s+unit\s+min\s+median\s+max\s+target\s+verdict$/);
    expect(lines[2]).to.match(/^lab \/ bare to login, union\s+x\s+1\.50x\s+1\.55x\s+1\.60x\s+<= 1\.25x\s+missed$/);
    expect(lines[3]).to.match(/^lab to login, union\s+s\s+84\.2\s+84\.2\s+84\.2$/);
    expect(lines[4]).to.match(/^never measured\s+s\s+-\s+-\s+-\s+<= 3\.00\s+not measured$/);
  });

  it('missedTargets names each missed target with its median', () => {
    const c = benchCase({
      name: 'chain',
      metrics: [
        { id: 'r', label: 'lab / bare to login, union', unit: 'x', values: [1.55], min: 1.55, median: 1.55, max: 1.55, target: { max: 1.25, source: 'issue 5' }, met: false },
        { id: 'w', label: 'ok', unit: 's', values: [1], min: 1, median: 1, max: 1, target: { max: 5, source: 'issue 5' }, met: true },
      ],
    });
    expect(missedTargets(report([c]))).to.deep.equal(['chain: lab / bare to login, union: 1.55x > 1.25x']);
  });

  it('formatBenchReport: host, each case with its tables, notes and failures, the tally and where bench.json is', () => {
    const text = formatBenchReport(
      report([
        benchCase({
          tables: [{ title: 'steps', header: ['step', 'cached'], rows: [['base', 'yes']] }],
          notes: ['all four steps were cached'],
          failures: [{ run: 2, step: 'warm build', kind: 'SetupError', exitCode: 3, message: 'the image build failed' }],
        }),
      ]),
    );
    expect(text).to.include('ltsp-lab bench abc123: 2 cores, tcg, speed factor 1.02');
    expect(text).to.include('== images-warm: a warm (no-op) image build (3 runs, 12 s)');
    expect(text).to.match(/warm build\s+s\s+1\.10\s+1\.20\s+1\.40\s+<= 5\.00\s+met/);
    expect(text).to.include('steps\nstep  cached');
    expect(text).to.include('note: all four steps were cached');
    expect(text).to.include('FAILED run 2, warm build (SetupError, exit 3): the image build failed');
    expect(text).to.include('targets: 1 met, 0 missed');
    expect(text.trimEnd().split('\n').at(-1)).to.equal('bench.json: reports/bench-abc123/bench.json');
  });
});

import { expect } from 'chai';
import type { RunEntry, RunFileData } from '../harness/index';
import { formatAge, formatRuns } from './ls';

const NOW = new Date('2026-12-02T03:10:00Z');

const kept: RunFileData = {
  version: 1,
  run: 'k3x9qe',
  owner: '4242:99',
  pid: 4242,
  startedAt: '2026-12-02T03:05:48Z',
  command: './lab boot --keep --clients 2',
  reportDir: '/work/lab/reports/boot-k3x9qe',
  kept: true,
  clients: [
    { name: 'c1', mac: '52:54:00:4c:6b:01', kind: 'ltsp', state: 'up', stage: 'login prompt', lease: '10.213.1.100', console: '/run/ltsp-lab/k3x9qe/c1/console.sock', consoleLog: '/work/lab/reports/boot-k3x9qe/c1/console.log' },
    { name: 'c2', mac: '52:54:00:4c:6b:02', kind: 'stock', state: 'shell', stage: "dracut's emergency shell", lease: '10.213.1.101', failedStage: 'nbd', console: '/run/ltsp-lab/k3x9qe/c2/console.sock', consoleLog: '/work/lab/reports/boot-k3x9qe/c2/console.log' },
  ],
};

describe('./lab ls', () => {
  it('ages read as a person says them', () => {
    expect([formatAge(0), formatAge(35_900), formatAge(252_000), formatAge(3_780_000), formatAge(-5)]).to.deep.equal(['0s', '35s', '4m 12s', '1h 03m', '0s']);
  });

  it('a kept run: its line, then a line per client with state, stage, lease and the attach command', () => {
    const runs: RunEntry[] = [{ id: 'k3x9qe', owner: '4242:99', alive: true, startedAt: new Date(kept.startedAt), file: kept }];
    expect(formatRuns(runs, NOW, '/work/lab')).to.equal(
      [
        'k3x9qe  4m 12s  kept, pid 4242  reports/boot-k3x9qe/  (./lab boot --keep --clients 2)',
        "  c1     ltsp  up       login prompt              10.213.1.100     ./lab attach k3x9qe c1",
        "  c2     stock shell    dracut's emergency shell  10.213.1.101     ./lab attach k3x9qe c2 (failed at nbd)",
      ].join('\n'),
    );
  });

  it('a booting run without consoles, a test\'s lab, and a dead run that ./lab clean reaps', () => {
    const booting: RunFileData = { ...kept, kept: false, clients: [{ name: 'c1', mac: 'm', state: 'booting', stage: 'powered on', consoleLog: 'x' }] };
    const runs: RunEntry[] = [
      { id: 'aaaaaa', owner: '17:1', alive: false, startedAt: new Date('2026-12-02T01:00:00Z') },
      { id: 'bbbbbb', owner: '18:1', alive: true, startedAt: new Date('2026-12-02T03:09:30Z') },
      { id: 'k3x9qe', owner: '4242:99', alive: true, startedAt: new Date(kept.startedAt), file: booting },
    ];
    expect(formatRuns(runs, NOW, '/elsewhere').split('\n')).to.deep.equal([
      'aaaaaa  2h 10m  dead: its owner (pid 17) is gone; ./lab clean reaps what it left',
      'bbbbbb  30s  live, pid 18: a lab without a run file (./lab test, bench, baseline); nothing to attach to',
      'k3x9qe  4m 12s  booting, pid 4242  /work/lab/reports/boot-k3x9qe/  (./lab boot --keep --clients 2)',
      '  c1     booting  powered on  -',
    ]);
  });

  it('no runs: says how to keep one', () => {
    expect(formatRuns([], NOW)).to.equal('no runs (./lab boot --keep keeps one up)');
  });
});

import { expect } from 'chai';
import { formatTimelineTable } from './timeline-table';
import type { ClientTimeline } from '../results/types';
import { clientSpec } from '../client/client-spec';

const mark = (stage: string, label: string, t: number, line = `${stage} line`): ClientTimeline['stages'][number] =>
  ({ stage, label, t, line });

const TWO_CLIENTS: ClientTimeline[] = [
  {
    client: 'c1',
    mac: '52:54:00:00:00:01',
    ok: true,
    stages: [
      mark('pxe', 'PXE', 1234),
      mark('kernel', 'kernel', 4560),
      mark('nbd-root', 'NBD root', 9870),
      mark('login', 'login', 15040),
    ],
  },
  {
    client: 'c2',
    mac: '52:54:00:00:00:02',
    ok: false,
    failedStage: 'nbd-root',
    error: 'timed out after 30.0 s waiting for /nbd0: detected/\n--- last 1 console lines ---\n[ 5.0] nbd: connect failed',
    stages: [mark('pxe', 'PXE', 1300), mark('kernel', 'kernel', 4800)],
  },
];

describe('formatTimelineTable', () => {
  it('lays out stages by clients, with "-" for stages not reached and a footer per failure', () => {
    expect(formatTimelineTable(TWO_CLIENTS)).to.equal([
      'boot timeline (seconds since QEMU start; +Δ since the previous stage)',
      'stage       c1    +Δ   c2    +Δ',
      '--------  ----  ----  ---  ----',
      'PXE        1.2  +1.2  1.3  +1.3',
      'kernel     4.6  +3.3  4.8  +3.5',
      'NBD root   9.9  +5.3    -     -',
      'login     15.0  +5.2    -     -',
      'c2 FAILED at nbd-root: timed out after 30.0 s waiting for /nbd0: detected/',
    ].join('\n'));
  });

  it('orders rows by first appearance, and measures deltas per client', () => {
    const table = formatTimelineTable([
      { client: 'fast', mac: 'm1', ok: true, stages: [mark('a', 'A', 1000), mark('c', 'C', 3000)] },
      { client: 'slow', mac: 'm2', ok: true, stages: [mark('a', 'A', 2000), mark('b', 'B', 2500), mark('c', 'C', 9000)] },
    ]);
    expect(table).to.equal([
      'boot timeline (seconds since QEMU start; +Δ since the previous stage)',
      'stage  fast    +Δ  slow    +Δ',
      '-----  ----  ----  ----  ----',
      'A       1.0  +1.0   2.0  +2.0',
      'C       3.0  +2.0   9.0  +6.5',
      'B         -     -   2.5  +0.5',
    ].join('\n'));
  });

  it('reports a client that failed before its first stage', () => {
    const table = formatTimelineTable([{ client: 'c3', mac: 'm3', ok: false, failedStage: 'pxe', error: 'no DHCP offer', stages: [] }]);
    expect(table).to.equal([
      'boot timeline (seconds since QEMU start; +Δ since the previous stage)',
      'stage  c3  +Δ',
      '-----  --  --',
      '(no stage reached)',
      'c3 FAILED at pxe: no DHCP offer',
    ].join('\n'));
  });

  it('says so when there are no clients', () => {
    expect(formatTimelineTable([])).to.equal('boot timeline: no clients');
  });
});

describe('formatTimelineTable: client kinds and the points inside the stages', () => {
  const withPoints: ClientTimeline[] = [
    {
      client: 'c1',
      mac: 'm1',
      boots: clientSpec({ kind: 'ltsp' }),
      kernelVersion: '6.1.158-ltsp-lab',
      ok: true,
      stages: [mark('initramfs', 'initramfs start', 4000), mark('nbd', 'NBD connected', 6000), mark('login', 'login prompt', 12_000)],
      points: [{ point: 'link-up', label: 'link up (lab0)', stage: 'nbd', t: 4500, line: 'lab0: link up' }],
    },
    {
      client: 'c2',
      mac: 'm2',
      boots: clientSpec({ kind: 'stock' }),
      kernelVersion: '6.1.0-50-amd64',
      ok: true,
      stages: [mark('initramfs', 'initramfs start', 4100), mark('nbd', 'NBD connected', 20_000), mark('login', 'login prompt', 40_000)],
      points: [
        { point: 'link-up', label: 'link up (lab0)', stage: 'nbd', t: 15_000, line: 'lab0: renamed from eth0' },
        { point: 'basic-target', label: 'basic.target', stage: 'login', t: 35_000, line: 'Reached target basic.target' },
      ],
    },
  ];

  it('names each client\'s kind and kernel, and puts each point before the stage it leads to ("-" where a kind has none)', () => {
    expect(formatTimelineTable(withPoints)).to.equal([
      'boot timeline (seconds since QEMU start; +Δ since the previous stage; · a point on the way to the stage below it, +Δ since the stage before)',
      'clients: c1: ltsp (kernel 6.1.158-ltsp-lab), c2: stock (kernel 6.1.0-50-amd64)',
      'stage                 c1    +Δ    c2     +Δ',
      '------------------  ----  ----  ----  -----',
      'initramfs start      4.0  +4.0   4.1   +4.1',
      '  · link up (lab0)   4.5  +0.5  15.0  +10.9',
      'NBD connected        6.0  +2.0  20.0  +15.9',
      '  · basic.target       -     -  35.0  +15.0',
      'login prompt        12.0  +6.0  40.0  +20.0',
    ].join('\n'));
  });

  it('without kinds or points, the table is as it was', () => {
    expect(formatTimelineTable(TWO_CLIENTS)).to.not.include('clients:').and.not.include('·');
  });
});

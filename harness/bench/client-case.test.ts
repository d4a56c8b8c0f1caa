import { expect } from 'chai';
import type { PointMark, StageMark } from '../results/types';
import { CLIENT_SPANS, clientCase, clientSpanMs, pointTable, type Round } from './client-case';

const mark = (stage: string, t: number): StageMark => ({ stage, label: stage, t, line: '' });
const point = (id: string, stage: string, t: number): PointMark => ({ point: id, label: id, stage, t, line: '' });

/** A boot whose initramfs starts at 4 s, NBD at `nbd`, system up at `system`, login at `login` (s). */
function boot(nbd: number, system: number, login: number, points: PointMark[] = []): { marks: StageMark[]; points: PointMark[] } {
  return { marks: [mark('ipxe', 500), mark('initramfs', 4000), mark('nbd', nbd * 1000), mark('system', system * 1000), mark('login', login * 1000)], points };
}

describe('bench case client: the ltsp and stock clients side by side', () => {
  it('measures login, initramfs start → NBD connected and system up → login from the stage marks', () => {
    const b = boot(6.5, 9, 12);
    expect(CLIENT_SPANS.map((s) => [s.id, clientSpanMs(b.marks, s)])).to.deep.equal([
      ['login', 12_000],
      ['nbd', 2500],
      ['userspace', 3000],
    ]);
    expect(clientSpanMs(b.marks.filter((m) => m.stage !== 'system'), CLIENT_SPANS[2]!), 'a stage not reached').to.equal(undefined);
  });

  it("prints issue 20's targets on the ltsp client's figures and the ratio, none on stock's (figures, not asserted)", () => {
    const targets = Object.fromEntries(clientCase.metrics.filter((m) => m.target).map((m) => [m.id, m.target!.max]));
    expect(targets).to.deep.equal({ 'login-ltsp': 15, 'nbd-ltsp': 3, 'userspace-ltsp': 5, ratio: 0.4 });
    expect(clientCase.metrics.map((m) => m.id)).to.include.members(['login-stock', 'nbd-stock', 'userspace-stock']);
    expect(clientCase.defaultRuns).to.equal(5);
  });

  it("says where each kind's time went: the median of each point since the stage before, '-' where a kind has none", () => {
    const rounds: Round[] = [
      { ltsp: boot(6, 8, 10, [point('link-up', 'nbd', 4500)]), stock: boot(20, 30, 40, [point('link-up', 'nbd', 15_000), point('basic-target', 'login', 35_000)]) },
      { ltsp: boot(6, 8, 10, [point('link-up', 'nbd', 4700)]), stock: boot(20, 30, 40, [point('link-up', 'nbd', 13_000), point('basic-target', 'login', 36_000)]) },
    ];
    expect(pointTable(rounds)).to.deep.equal({
      header: ['point (median s since the stage before)', 'ltsp', 'stock'],
      rows: [
        ['link-up (in nbd)', '0.60', '10.0'],
        ['basic-target (in login)', '-', '5.50'],
      ],
    });
  });
});

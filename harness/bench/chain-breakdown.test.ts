import { expect } from 'chai';
import type { BootStageId } from '../results/stage-ids';
import type { StageMark } from '../results/types';
import { CHAIN_SEGMENTS, chainSegments, loginMs, spanMs } from './chain-breakdown';

function marks(times: Record<string, number>): StageMark[] {
  return Object.entries(times).map(([stage, t]) => ({ stage, label: stage, t, line: '' }));
}

// The README's lab boot, and a bare boot of the same kernel and root.
const LAB = marks({ ipxe: 300, dhcp: 5600, fetched: 13200, kernel: 16900, initramfs: 24300, nbd: 53400, root: 54900, union: 56300, 'switch-root': 57200, system: 58700, login: 83900 });
const BARE = marks({ kernel: 2100, initramfs: 9000, root: 20000, union: 21200, 'switch-root': 22000, system: 23500, login: 47000 });

describe('chain breakdown', () => {
  it('cuts both boots into segments that add up to the time to login', () => {
    const segs = chainSegments(LAB, BARE);
    expect(segs.map((s) => s.id)).to.deep.equal(CHAIN_SEGMENTS.map((s) => s.id));
    const sum = (k: 'labMs' | 'bareMs' | 'diffMs'): number => segs.reduce((a, s) => a + (s[k] as number), 0);
    expect(sum('labMs')).to.equal(83900);
    expect(sum('bareMs')).to.equal(47000);
    expect(sum('diffMs')).to.equal(83900 - 47000);
  });

  it('gives the lab-only steps 0 s on the bare side, and the shared ones from both timelines', () => {
    const byId = Object.fromEntries(chainSegments(LAB, BARE).map((s) => [s.id, s]));
    expect(byId['firmware-dhcp']).to.include({ labMs: 5600, bareMs: 0, diffMs: 5600 });
    expect(byId.fetch).to.include({ labMs: 7600, bareMs: 0, diffMs: 7600 });
    expect(byId.handoff).to.include({ labMs: 3700, bareMs: 2100 });
    expect(byId.root).to.include({ labMs: 30600, bareMs: 11000, diffMs: 19600 });
    expect(byId.userspace).to.include({ labMs: 26700, bareMs: 25000, diffMs: 1700 });
  });

  it('leaves out what a boot that stopped early never reached', () => {
    const failed = BARE.filter((m) => !['system', 'login'].includes(m.stage));
    const user = chainSegments(LAB, failed).find((s) => s.id === 'userspace');
    expect(user).to.include({ labMs: 26700 });
    expect(user).to.not.have.any.keys('bareMs', 'diffMs');
  });

  it('spanMs and loginMs read a timeline; null is QEMU start', () => {
    expect(spanMs(LAB, [null, 'dhcp'])).to.equal(5600);
    expect(spanMs(LAB, ['dhcp', 'nope' as BootStageId])).to.equal(undefined);
    expect(loginMs(LAB)).to.equal(83900);
    expect(loginMs([])).to.equal(undefined);
  });
});

import { expect } from 'chai';
import { overheadSplit } from './overhead-case';

describe('overheadSplit', () => {
  const T = 1_700_000_000_000;
  const line = (dt: number, text: string): { at: number; text: string } => ({ at: T + dt, text });

  it('cuts the way in at the build lines and the way out at "lab: done"', () => {
    const stderr = [
      line(900, '[ltsp-lab build    1s] base: cached ltsp-lab/base:917129ae13e92533'),
      line(950, '[ltsp-lab build    1s] initramfs: cached /root/.cache/ltsp-lab/initramfs-2867c38bf1982fad'),
      line(1000, '[ltsp-lab build    1s] manifest: done'),
      line(2600, 'lab: run abc123: 1 client(s) booting (tcg, speed factor 1)'),
      line(90_500, 'lab: done in 89.9 s; nothing left running'),
    ];
    expect(overheadSplit(T, T + 90_700, T + 2500, T + 88_000, stderr)).to.deep.equal({
      in: 2500,
      out: 2700,
      toBuild: 900,
      build: 100,
      toQemu: 1500,
      teardown: 2500,
      exit: 200,
    });
  });

  it('gives the two totals when the child printed none of its lines', () => {
    expect(overheadSplit(T, T + 100_000, T + 3000, T + 95_000, [])).to.deep.equal({ in: 3000, out: 5000 });
  });
});

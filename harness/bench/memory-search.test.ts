import { expect } from 'chai';
import { smallestBootingMemory, type MemoryTry } from './memory-search';

/** A fake client that boots at `need` MB and more. */
function client(need: number): { probe: (mb: number) => Promise<MemoryTry>; tried: number[] } {
  const tried: number[] = [];
  return {
    tried,
    probe: async (mb) => {
      tried.push(mb);
      return mb >= need ? { mb, ok: true, loginMs: 80_000 } : { mb, ok: false, failedStage: 'initramfs', error: 'Kernel panic' };
    },
  };
}

describe('smallestBootingMemory', () => {
  it('bisects the 32 MB grid from 384 to 128 in a few boots', async () => {
    const c = client(200);
    const r = await smallestBootingMemory({ from: 384, to: 128, step: 32, probe: c.probe });
    expect(r.smallest).to.equal(224);
    expect(r.largestFailing).to.include({ mb: 192, ok: false, failedStage: 'initramfs' });
    expect(c.tried[0]).to.equal(384);
    expect(c.tried.length).to.be.at.most(5);
    expect(new Set(c.tried).size).to.equal(c.tried.length);
  });

  it('skips the top boot when it was already made', async () => {
    const c = client(300);
    const r = await smallestBootingMemory({ from: 384, to: 128, step: 32, atFrom: { mb: 384, ok: true }, probe: c.probe });
    expect(r.smallest).to.equal(320);
    expect(c.tried).to.not.include(384);
  });

  it('reports the bottom of the grid when everything boots, with no failing try', async () => {
    const r = await smallestBootingMemory({ from: 384, to: 128, step: 32, probe: client(64).probe });
    expect(r.smallest).to.equal(128);
    expect(r.largestFailing).to.equal(undefined);
  });

  it('has no smallest when even the top fails', async () => {
    const c = client(512);
    const r = await smallestBootingMemory({ from: 384, to: 128, step: 32, probe: c.probe });
    expect(r.smallest).to.equal(undefined);
    expect(r.largestFailing?.mb).to.equal(384);
    expect(c.tried).to.deep.equal([384]);
  });

  it('agrees with a linear search for every threshold on the grid', async () => {
    for (let need = 100; need <= 384; need += 16) {
      const r = await smallestBootingMemory({ from: 384, to: 128, step: 32, probe: client(need).probe });
      const linear = [128, 160, 192, 224, 256, 288, 320, 352, 384].find((mb) => mb >= need);
      expect(r.smallest, `need ${need}`).to.equal(linear);
    }
  });
});

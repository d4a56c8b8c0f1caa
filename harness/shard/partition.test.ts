import { expect } from 'chai';
import { readDurations, defaultFileMs } from './durations';
import { partitionFiles, type PartitionInput, type Shard } from './partition';

/** The recorded suite (fixtures/test-durations.json): 18 files from under a second to about five minutes. */
function recorded(): Omit<PartitionInput, 'count'> {
  const d = readDurations();
  return { files: Object.keys(d.files), durations: d.files, defaultMs: defaultFileMs(d), headStartMs: d.checksMs };
}

const spread = (shards: Shard[]): number => Math.max(...shards.map((s) => s.expectedMs)) - Math.min(...shards.map((s) => s.expectedMs));

/** A deterministic shuffle (a fixed LCG), so a failure reproduces. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('partitionFiles: e2e files split across shards by recorded time', () => {
  it('puts every file in exactly one shard, for every N from 1 to the number of files', () => {
    const r = recorded();
    for (let count = 1; count <= r.files.length; count++) {
      const shards = partitionFiles({ ...r, count });
      expect(shards.map((s) => s.index)).to.deep.equal(Array.from({ length: count }, (_, i) => i + 1));
      const all = shards.flatMap((s) => s.files);
      expect([...all].sort(), `N=${count}`).to.deep.equal([...r.files].sort());
      expect(new Set(all).size, `N=${count}: a file in two shards`).to.equal(all.length);
    }
  });

  it('N=1 is the whole suite, expected as long as all its files and the head start', () => {
    const r = recorded();
    const [only] = partitionFiles({ ...r, count: 1 });
    expect(only!.files).to.deep.equal([...r.files].sort());
    expect(only!.expectedMs).to.equal(Object.values(r.durations).reduce((a, b) => a + b, 0) + r.headStartMs!);
  });

  it('balances the recorded suite: two or three shards within 5 % of the mean, and no two shards further apart than the longest file', () => {
    const r = recorded();
    const longest = Math.max(...Object.values(r.durations));
    for (let count = 2; count <= 6; count++) {
      const shards = partitionFiles({ ...r, count });
      const mean = shards.reduce((n, s) => n + s.expectedMs, 0) / count;
      // Greedy longest-first: the fullest shard took its last file while it was the emptiest.
      expect(spread(shards), `N=${count}: ${shards.map((s) => s.expectedMs).join(', ')} ms`).to.be.at.most(longest);
      // Beyond 3 shards field-faults alone (~5 min) is longer than a fair share: no split does better than it.
      expect(Math.max(...shards.map((s) => s.expectedMs)), `N=${count}`).to.be.at.most(Math.max(longest, 1.05 * mean));
    }
    for (const count of [2, 3]) {
      const shards = partitionFiles({ ...r, count });
      const mean = shards.reduce((n, s) => n + s.expectedMs, 0) / count;
      expect(spread(shards) / mean, `N=${count}: ${shards.map((s) => s.expectedMs).join(', ')} ms`).to.be.below(0.05);
    }
  });

  it('weighs files by time, not count: one long file is a shard to itself against ten short ones', () => {
    const durations: Record<string, number> = { 'long.e2e.ts': 100_000 };
    for (let i = 0; i < 10; i++) durations[`short-${i}.e2e.ts`] = 10_000;
    const shards = partitionFiles({ files: Object.keys(durations), durations, defaultMs: 0, count: 2 });
    expect(shards.map((s) => s.files.length)).to.deep.equal([1, 10]);
    expect(shards.map((s) => s.expectedMs)).to.deep.equal([100_000, 100_000]);
  });

  it('counts the head start: shard 1 (which runs the checks) takes less of the suite', () => {
    const durations = { 'a.e2e.ts': 30_000, 'b.e2e.ts': 30_000, 'c.e2e.ts': 20_000, 'd.e2e.ts': 20_000 };
    const files = Object.keys(durations);
    expect(partitionFiles({ files, durations, defaultMs: 0, count: 2 }).map((s) => s.files)).to.deep.equal([['a.e2e.ts', 'c.e2e.ts'], ['b.e2e.ts', 'd.e2e.ts']]);
    const withChecks = partitionFiles({ files, durations, defaultMs: 0, count: 2, headStartMs: 40_000 });
    expect(withChecks.map((s) => s.files)).to.deep.equal([['c.e2e.ts', 'd.e2e.ts'], ['a.e2e.ts', 'b.e2e.ts']]);
    expect(withChecks.map((s) => s.expectedMs)).to.deep.equal([80_000, 60_000]);
  });

  it('weighs a file the record does not know as defaultMs', () => {
    const durations = { 'a.e2e.ts': 50_000, 'b.e2e.ts': 10_000 };
    const shards = partitionFiles({ files: ['a.e2e.ts', 'b.e2e.ts', 'new.e2e.ts'], durations, defaultMs: 45_000, count: 2 });
    expect(shards.map((s) => s.files)).to.deep.equal([['a.e2e.ts'], ['b.e2e.ts', 'new.e2e.ts']]);
    expect(shards[1]!.expectedMs).to.equal(55_000);
  });

  it('gives the same split whatever order the files and the record come in (every runner agrees)', () => {
    const r = recorded();
    for (const count of [2, 3, 4]) {
      const want = partitionFiles({ ...r, count });
      for (let seed = 1; seed <= 20; seed++) {
        const durations = Object.fromEntries(shuffled(Object.entries(r.durations), seed + 100));
        expect(partitionFiles({ ...r, files: shuffled(r.files, seed), durations, count }), `N=${count}, seed ${seed}`).to.deep.equal(want);
      }
    }
  });

  it('breaks ties by name and by shard index, not by chance', () => {
    const durations = { 'c.e2e.ts': 1000, 'a.e2e.ts': 1000, 'b.e2e.ts': 1000, 'd.e2e.ts': 1000 };
    expect(partitionFiles({ files: Object.keys(durations), durations, defaultMs: 0, count: 3 }).map((s) => s.files)).to.deep.equal([['a.e2e.ts', 'd.e2e.ts'], ['b.e2e.ts'], ['c.e2e.ts']]);
  });

  it('refuses a shard count that is not a whole number from 1', () => {
    for (const count of [0, -1, 1.5, NaN]) expect(() => partitionFiles({ files: ['a'], durations: {}, defaultMs: 1, count })).to.throw(RangeError);
  });
});

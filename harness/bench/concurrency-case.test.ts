import { expect } from 'chai';
import { batchTimes } from './concurrency-case';

describe('batchTimes', () => {
  it('counts from the first spawn to the last login', () => {
    // Spawned 0.4 s apart; the second reaches login last.
    const t = batchTimes([
      { startedAt: 1000, login: 90_000 },
      { startedAt: 1400, login: 95_000 },
      { startedAt: 1800, login: 91_000 },
    ]);
    expect(t.allLoginMs).to.equal(1400 + 95_000 - 1000);
    expect(t.perClientMs).to.deep.equal([90_000, 95_000, 91_000]);
  });

  it('one client: its own time to login', () => {
    expect(batchTimes([{ startedAt: 5, login: 84_000 }]).allLoginMs).to.equal(84_000);
  });
});

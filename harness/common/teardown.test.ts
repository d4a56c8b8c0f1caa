import { expect } from 'chai';
import { repeatsSignal, REPEATED_SIGNAL_MS } from './teardown';

describe('signal teardown: a signal delivered twice is one signal', () => {
  it('the same signal within REPEATED_SIGNAL_MS repeats the first (nyc forwarding what the group kill gave mocha too)', () => {
    const first = { sig: 'SIGTERM' as const, at: 10_000 };
    expect(repeatsSignal(first, 'SIGTERM', 10_005)).to.equal(true);
    expect(repeatsSignal(first, 'SIGTERM', 10_000 + REPEATED_SIGNAL_MS - 1)).to.equal(true);
  });

  it("a later one, another signal, or a first one is a signal of its own (a person's second Ctrl-C still forces)", () => {
    const first = { sig: 'SIGINT' as const, at: 10_000 };
    expect(repeatsSignal(first, 'SIGINT', 10_000 + REPEATED_SIGNAL_MS)).to.equal(false);
    expect(repeatsSignal(first, 'SIGTERM', 10_001)).to.equal(false);
    expect(repeatsSignal(undefined, 'SIGINT', 10_001)).to.equal(false);
  });
});

import { expect } from 'chai';
import type { ProbeResult } from '../accel/accel-probe';
import { HarnessError } from '../common/errors';
import { GUEST_SPEED_REFERENCE_MS, measureGuestSpeed } from './guest-speed';

const probe = (ms: number, ok = true): ProbeResult => ({ accel: 'tcg', ok, ms, tail: ok ? [] : ['Probing EDD (edd=off to disable)... ok'], ...(ok ? {} : { failure: 'no "Linux version" in 90 s' }) });

/** A prober that gives these results in turn, and counts its calls. */
function prober(...results: (ProbeResult & { waitMs?: number })[]): { calls: () => number; next: () => Promise<ProbeResult & { waitMs?: number }> } {
  let i = 0;
  return { calls: () => i, next: async () => results[i++]! };
}

describe('gate: guest speed (a probe boot of the lab kernel to /init)', () => {
  it('is the best of the probes against the reference: a busy moment does not make the host look slow', async () => {
    const p = prober(probe(9_800), probe(4_790.4));
    expect(await measureGuestSpeed(p.next)).to.deep.equal({ factor: 0.96, probeMs: [9_800, 4_790], waitMs: [0, 0] });
    expect(p.calls()).to.equal(2);
  });

  it('tracks the guest, as the boots do: a host that boots to /init in twice the time has twice the factor', async () => {
    const fast = await measureGuestSpeed(prober(probe(4_800)).next, 1);
    const slow = await measureGuestSpeed(prober(probe(9_600)).next, 1);
    expect(slow.factor / fast.factor).to.be.closeTo(2, 0.03);
    expect((await measureGuestSpeed(prober(probe(GUEST_SPEED_REFERENCE_MS)).next, 1)).factor).to.equal(1);
  });

  it("less each probe's wait for a host CPU: a probe taken while another lab boots says what the guest runs at", async () => {
    const busy = { ...probe(8_000), waitMs: 3_200 };
    const p = prober(busy, { ...probe(7_000), waitMs: 1_000 });
    expect(await measureGuestSpeed(p.next)).to.deep.equal({ factor: 0.96, probeMs: [8_000, 7_000], waitMs: [3_200, 1_000] });
  });

  it('a probe that fails is the lab\'s failure (a HarnessError, exit 5), with its reason and console tail, and stops there', async () => {
    const p = prober(probe(1_000, false), probe(4_800));
    const e = await measureGuestSpeed(p.next).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(HarnessError);
    expect((e as HarnessError).message).to.match(/^the gate's speed probe \(tcg\) failed: no "Linux version" in 90 s\nProbing EDD/);
    expect(p.calls()).to.equal(1);
  });
});

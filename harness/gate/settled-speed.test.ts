import { expect } from 'chai';
import type { HostSpeed } from '../common/speed';
import { settledSpeedFactor } from './settled-speed';

const speed = (): HostSpeed => ({ accel: 'tcg', accelReason: 'no /dev/kvm -> tcg', calibrationMs: 120, factor: 2, cores: 2 });

describe('gate: settledSpeedFactor', () => {
  it("a faster calibration later in the run lowers the factor in proportion, and it stays lowered", () => {
    const s = speed();
    expect(settledSpeedFactor(s, () => 60)).to.equal(1);
    expect(settledSpeedFactor(s, () => 90), 'a slower one later does not raise it again').to.equal(1);
    expect(settledSpeedFactor(s, () => 57)).to.equal(0.95);
  });

  it("never above the lab's own factor, and each lab's host speed keeps its own best", () => {
    expect(settledSpeedFactor(speed(), () => 200)).to.equal(2);
    expect(settledSpeedFactor(speed(), () => 120)).to.equal(2);
  });
});

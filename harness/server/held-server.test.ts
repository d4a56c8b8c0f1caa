import { expect } from 'chai';
import { describeHeld } from './held-server';

describe('a server container held from outside', () => {
  it('says what holds it: docker pause, a frozen cgroup, stopped processes; nothing when it runs free', () => {
    expect(describeHeld({ paused: true, frozen: true, stopped: [] })).to.equal('paused (docker pause)');
    expect(describeHeld({ paused: false, frozen: true, stopped: [] })).to.equal("frozen (its cgroup's freezer)");
    expect(describeHeld({ paused: false, frozen: false, stopped: ['dnsmasq (pid 812)'] })).to.equal('stopped by a signal (SIGSTOP): dnsmasq (pid 812)');
    expect(describeHeld({ paused: false, frozen: false, stopped: [] })).to.equal(undefined);
  });
});

import { expect } from 'chai';
import { HarnessError } from '../common/errors';
import { hostInSubnet, inSubnet, LAB_HOSTS } from './lab-network';

describe('lab subnet addresses: one source for the gateway and the DHCP range', () => {
  it('names host n of a /24', () => {
    expect(hostInSubnet('10.213.4.0/24', LAB_HOSTS.gateway)).to.equal('10.213.4.1');
    expect(hostInSubnet('10.213.4.0/24', LAB_HOSTS.dhcpFirst)).to.equal('10.213.4.100');
    expect(hostInSubnet('10.214.17.0/24', LAB_HOSTS.dhcpLast)).to.equal('10.214.17.199');
  });

  it('refuses what is not a /24, and hosts outside 1-254', () => {
    for (const [subnet, n] of [['10.213.4.0/16', 1], ['10.213.4.128/25', 1], ['10.213.4.0/24', 0], ['10.213.4.0/24', 255], ['10.213.4.0/24', 1.5]] as const) {
      expect(() => hostInSubnet(subnet, n), `${subnet} ${n}`).to.throw(HarnessError, /the lab's subnets are \/24s and hosts 1-254/);
    }
  });

  it('tells an address of the subnet from its neighbours', () => {
    expect(inSubnet('10.213.4.0/24', '10.213.4.150')).to.equal(true);
    expect(inSubnet('10.213.4.0/24', '10.213.40.150')).to.equal(false);
    expect(inSubnet('10.213.4.0/24', '10.213.41.1')).to.equal(false);
    expect(inSubnet('10.213.4.0/24', '10.213.4.256')).to.equal(false);
    expect(inSubnet('10.213.4.0/24', '10.213.4.1.2')).to.equal(false);
  });

  it('gives the range dnsmasq leases inside the /24 and above the docker-assigned /26', () => {
    expect(LAB_HOSTS.dhcpFirst).to.be.above(64).and.below(LAB_HOSTS.dhcpLast);
    expect(LAB_HOSTS.dhcpLast).to.be.below(255);
  });
});

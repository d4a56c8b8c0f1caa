import { expect } from 'chai';
import { deleteArgsOf, guardArgs, hostGuardComment, hostGuardRules } from './host-guard';

describe('host guard: the rules that close the host to a lab bridge', () => {
  it('drops what the lab opens towards the host, v4 and v6 (but for neighbour discovery), and what it sends through the host over v6 (golden argv)', () => {
    const rules = hostGuardRules('ltlabc123', 'abc123', { ipv6: true });
    expect(rules.map((r) => [r.cmd, ...guardArgs(r, '-I')].join(' '))).to.deep.equal([
      'iptables -w -t filter -I INPUT 1 -i ltlabc123 -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment ltsp-lab:abc123:host -j DROP',
      'iptables -w -t raw -I OUTPUT 1 -o ltlabc123 -p udp --dport 69 -m comment --comment ltsp-lab:abc123:host -j CT --helper tftp',
      'ip6tables -w -t filter -I INPUT 1 -i ltlabc123 -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment ltsp-lab:abc123:host -j DROP',
      'ip6tables -w -t filter -I INPUT 1 -i ltlabc123 -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-advertisement -m comment --comment ltsp-lab:abc123:host -j ACCEPT',
      'ip6tables -w -t filter -I INPUT 1 -i ltlabc123 -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -m comment --comment ltsp-lab:abc123:host -j ACCEPT',
      'ip6tables -w -t filter -I FORWARD 1 -i ltlabc123 ! -o ltlabc123 -m comment --comment ltsp-lab:abc123:host -j DROP',
    ]);
    expect(guardArgs(rules[0]!, '-D')).to.deep.equal(['-w', '-t', 'filter', '-D', 'INPUT', ...rules[0]!.spec]);
  });

  it('needs no ip6tables on a bridge without IPv6', () => {
    expect(hostGuardRules('ltlabc123', 'abc123', { ipv6: false }).map((r) => r.cmd)).to.deep.equal(['iptables', 'iptables']);
  });

  it("carries the run's comment, told from the bridge rule's and a loss fault's", () => {
    expect(hostGuardComment('abc123')).to.equal('ltsp-lab:abc123:host');
    for (const r of hostGuardRules('ltlabc123', 'abc123', { ipv6: true })) expect(r.spec.join(' ')).to.include('--comment ltsp-lab:abc123:host');
  });

  it('turns a guard rule as `-S` lists it back into the argv that deletes it, and only guard rules', () => {
    // As iptables 1.8.9 (nf_tables) lists the rules this module puts in.
    expect(deleteArgsOf('-A INPUT -i ltlabc123 -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "ltsp-lab:abc123:host" -j DROP', 'filter')).to.deep.equal({
      run: 'abc123',
      args: ['-w', '-t', 'filter', '-D', 'INPUT', '-i', 'ltlabc123', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED', '-m', 'comment', '--comment', 'ltsp-lab:abc123:host', '-j', 'DROP'],
    });
    expect(deleteArgsOf('-A OUTPUT -o ltlabc123 -p udp -m udp --dport 69 -m comment --comment "ltsp-lab:abc123:host" -j CT --helper tftp', 'raw')?.args.slice(0, 5)).to.deep.equal(['-w', '-t', 'raw', '-D', 'OUTPUT']);
    // Legacy iptables leaves a comment without spaces unquoted.
    expect(deleteArgsOf('-A FORWARD -i ltlabc123 ! -o ltlabc123 -m comment --comment ltsp-lab:abc123:host -j DROP', 'filter')?.run).to.equal('abc123');
    for (const other of [
      '-A DOCKER-USER -i ltlabc123 -o ltlabc123 -m comment --comment "ltsp-lab:abc123" -j ACCEPT',
      '-A DOCKER-USER -m physdev --physdev-in lttabc123c1 -m comment --comment "ltsp-lab:abc123:loss:lttabc123c1" -j DROP',
      '-A INPUT -i eth0 -m comment --comment "ltsp-lab:abc123:hostile" -j ACCEPT',
      '-A INPUT -i eth0 -m comment --comment "someone:ltsp-lab:abc123:host" -j DROP',
      '-P INPUT ACCEPT',
    ]) {
      expect(deleteArgsOf(other, 'filter'), other).to.equal(undefined);
    }
  });
});

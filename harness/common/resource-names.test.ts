import { expect } from 'chai';
import {
  bridgeName,
  bridgeVethPattern,
  HOST_GUARD_COMMENT,
  hostGuardComment,
  isRunId,
  lossComment,
  NETWORK_NAME,
  networkName,
  pendingPattern,
  ruleComment,
  ruleCommentPattern,
  runLinkPattern,
  tapLinkPattern,
  tapName,
} from './resource-names';

/** What `ip -o link show` prints for a bridge, a tap on it and the server's veth. */
const links = (run: string): string =>
  [
    `7: ${bridgeName(run)}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP`,
    `8: ${tapName(run, 1)}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel master ${bridgeName(run)} state UP`,
    `9: veth1a2b3c@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master ${bridgeName(run)} state UP`,
  ].join('\n');

describe('resource names: each name and the pattern that finds it again', () => {
  const run = 'abc123';
  const other = 'zz9999';
  const host = `${links(run)}\n${links(other)}\n12: ltthello: <BROADCAST> mtu 1500`;

  it('names fit a 15-character interface name', () => {
    expect(isRunId(run)).to.equal(true);
    expect(isRunId('abc12')).to.equal(false);
    expect(bridgeName(run)).to.equal('ltlabc123');
    expect(tapName(run, 12)).to.equal('lttabc123c12');
    expect(tapName(run, 99).length).to.be.at.most(15);
  });

  it("finds a run's taps, bridge and veth, and not another run's", () => {
    expect([...host.matchAll(tapLinkPattern(run))].map((m) => m[1])).to.deep.equal([tapName(run, 1)]);
    expect([...host.matchAll(tapLinkPattern())].map((m) => m[2])).to.deep.equal([run, other]);
    expect([...host.matchAll(runLinkPattern(run))].map((m) => m[1])).to.deep.equal([bridgeName(run), tapName(run, 1)]);
    expect([...host.matchAll(bridgeVethPattern(run))].map((m) => m[1])).to.deep.equal(['veth1a2b3c']);
  });

  it("finds a run's iptables rules by their comment, quoted or not, and not a longer id's", () => {
    const rules = [
      `-A DOCKER-USER -i ${bridgeName(run)} -o ${bridgeName(run)} -m comment --comment "${ruleComment(run)}" -j ACCEPT`,
      `-A DOCKER-USER -i ${tapName(run, 1)} -m statistic --mode random --probability 0.1 -m comment --comment ${lossComment(run, tapName(run, 1))} -j DROP`,
      `-A INPUT -i ${bridgeName(run)} -m comment --comment "${hostGuardComment(run)}" -j DROP`,
      `-A DOCKER-USER -m comment --comment "ltsp-lab:${run}x" -j ACCEPT`,
      `-A DOCKER-USER -m comment --comment "${ruleComment(other)}" -j ACCEPT`,
    ];
    expect(rules.filter((l) => ruleCommentPattern(run).test(l))).to.deep.equal(rules.slice(0, 3));
    expect(rules.map((l) => ruleCommentPattern().exec(l)?.[1])).to.deep.equal([run, run, run, undefined, other]);
    expect(rules.map((l) => HOST_GUARD_COMMENT.exec(l)?.[1])).to.deep.equal([undefined, undefined, run, undefined, undefined]);
  });

  it('reads the run back from its network (cgroup) name and a pending state folder', () => {
    expect(NETWORK_NAME.exec(networkName(run))?.[1]).to.equal(run);
    expect(NETWORK_NAME.exec(`${networkName(run)}-server`)).to.equal(null);
    expect(pendingPattern('.new-').exec(`.new-${run}-4242`)?.slice(1)).to.deep.equal([run, '4242']);
    expect(pendingPattern('.new-').exec(`xnew-${run}-4242`)).to.equal(null);
  });
});

import { expect } from 'chai';
import { budgetMs, Deadline, type StartedLab, type StartedThinClient } from '../harness/index';
import { useCoreLab } from './support/core-lab';

describe('two clients: two thin clients with different MACs boot at once from one server @smoke', function () {
  let lab: StartedLab | undefined;
  let c1: StartedThinClient;
  let c2: StartedThinClient;
  const core = useCoreLab(this);

  before(async function () {
    lab = await core.lab();
    [c1, c2] = await Promise.all([
      core.client('two-1', (c) => c.withMac('52:54:00:00:02:01')),
      core.client('two-2', (c) => c.withMac('52:54:00:00:02:02')),
    ]);
  });

  after(() => core.release());

  it('both reach the login prompt, and the server serves both roots at once: an NBD connection from each lease', async function () {
    await Promise.all([c1.waitForBoot(), c2.waitForBoot()]);
    // A server that took one client at a time (one connection, or a client that lost its
    // own to the other's) would not hold both: each client's root stays connected while it runs.
    const d = Deadline.after(budgetMs('faultStep'), 'NBD connections on the server');
    const ss = (await lab!.server.sh("ss -tnH state established '( sport = :10809 )'", false, d)).output;
    const peers = [...ss.matchAll(/\s(\d+\.\d+\.\d+\.\d+):\d+\s*$/gm)].map((m) => m[1]);
    expect(peers, `established NBD connections:\n${ss}`).to.include.members([c1.leaseIp, c2.leaseIp]);
  });

  it('each got its own lease, and the server holds both', async function () {
    expect(c1.leaseIp).to.be.a('string');
    expect(c2.leaseIp).to.be.a('string');
    expect(c1.leaseIp).to.not.equal(c2.leaseIp);
    const leases = await lab!.server.leases();
    expect(leases.get('52:54:00:00:02:01')).to.equal(c1.leaseIp);
    expect(leases.get('52:54:00:00:02:02')).to.equal(c2.leaseIp);
  });

  it("each has its own union: a write on one is not seen on the other", async function () {
    await c1.check('echo from-c1 > /etc/ltsp-lab-who');
    const other = await c2.run('cat /etc/ltsp-lab-who');
    // Not there at all on c2 (ENOENT), not merely unreadable.
    expect(other.code).to.equal(1);
    expect(other.output).to.match(/cat: \/etc\/ltsp-lab-who: No such file or directory/);
    expect(await c1.check('cat /etc/ltsp-lab-who')).to.equal('from-c1');
  });
});

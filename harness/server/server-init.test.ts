import { expect } from 'chai';
import { UsageError } from '../common/errors';
import { initContainerSpec, parseServerInit, serverCgroupParent, serviceCommand, SERVER_INITS } from './server-init';

describe('server inits: how each init is asked to act, and how its container is made', function () {
  it('parses the three inits and refuses anything else with the list', () => {
    for (const i of SERVER_INITS) expect(parseServerInit(i)).to.equal(i);
    expect(() => parseServerInit('upstart')).to.throw(UsageError, "--server-init 'upstart' is not one of entrypoint, systemd, sysvinit");
  });

  it('acts on nbd-server through the init that runs it: the seed script, systemctl, service(8)', () => {
    expect(serviceCommand('entrypoint', 'nbd-server', 'restart')).to.deep.equal(['/etc/init.d/nbd-server', 'restart']);
    expect(serviceCommand('systemd', 'nbd-server', 'restart')).to.deep.equal(['systemctl', 'restart', 'nbd-server.service']);
    expect(serviceCommand('systemd', 'nbd-server', 'status')).to.deep.equal(['systemctl', 'status', '--no-pager', 'nbd-server.service']);
    expect(serviceCommand('sysvinit', 'nbd-server', 'reload')).to.deep.equal(['service', 'nbd-server', 'reload']);
  });

  it('entrypoint: the container as before, no tmpfs, no cgroup mount, no capability', () => {
    expect(initContainerSpec('entrypoint', 'abc123')).to.deep.equal({ env: { LAB_SERVER_INIT: 'entrypoint' }, capAdd: [], tmpfs: {}, binds: [] });
  });

  it('systemd: /run tmpfs, halted by SIGRTMIN+3, no capability, only its own name=systemd and unified sub-trees writable', () => {
    const s = initContainerSpec('systemd', 'abc123');
    expect(serverCgroupParent('abc123')).to.equal('ltsp-lab-abc123');
    expect(s.capAdd).to.deep.equal([]);
    expect(Object.keys(s.tmpfs)).to.deep.equal(['/run', '/run/lock']);
    expect(s.stopSignal).to.equal('SIGRTMIN+3');
    expect(s.cgroupParent).to.equal('/ltsp-lab-abc123');
    expect(s.cgroupnsMode).to.equal('host');
    expect(s.binds).to.deep.equal([
      { source: '/sys/fs/cgroup/systemd', target: '/sys/fs/cgroup/systemd', mode: 'ro' },
      { source: '/sys/fs/cgroup/systemd/ltsp-lab-abc123', target: '/sys/fs/cgroup/systemd/ltsp-lab-abc123', mode: 'rw' },
      { source: '/sys/fs/cgroup/unified', target: '/sys/fs/cgroup/unified', mode: 'ro' },
      { source: '/sys/fs/cgroup/unified/ltsp-lab-abc123', target: '/sys/fs/cgroup/unified/ltsp-lab-abc123', mode: 'rw' },
    ]);
    // Nothing of a controller hierarchy (memory, cpu, ...) is bound writable, and of the others only the run's sub-tree.
    expect(s.binds.filter((b) => b.mode === 'rw').map((b) => b.source)).to.deep.equal(['/sys/fs/cgroup/systemd/ltsp-lab-abc123', '/sys/fs/cgroup/unified/ltsp-lab-abc123']);
    expect(s.readyCommand).to.deep.equal(['/usr/local/sbin/ltsp-server-ready']);
  });

  it('sysvinit: stopped by SIGINT (its Ctrl-Alt-Del), SYS_BOOT for halt, no cgroup mount', () => {
    const s = initContainerSpec('sysvinit', 'abc123');
    expect(s.capAdd).to.deep.equal(['SYS_BOOT']);
    expect(s.stopSignal).to.equal('SIGINT');
    expect(s.binds).to.deep.equal([]);
    expect(s.cgroupParent).to.equal(undefined);
    expect(s.env).to.deep.equal({ LAB_SERVER_INIT: 'sysvinit' });
  });
});

import { expect } from 'chai';
import { checkStormFits } from './storm';
import { cgroupFiles, countEstablished, figures, txBytes } from './server-stats';
import { UsageError } from '../common/errors';

describe('storm bounds and server figures', () => {
  it('counts ESTABLISHED connections on local port 10809 (0x2A39) only', () => {
    const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2A39 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0200D50A:2A39 0100D50A:B2A0 01 00000000:00000000 00:00000000 00000000   104        0 2 1
   2: 0200D50A:2A39 0100D50A:B2A2 01 00000000:00000000 00:00000000 00000000   104        0 3 1
   3: 0200D50A:0050 0100D50A:B2A4 01 00000000:00000000 00:00000000 00000000   104        0 4 1
   4: 0200D50A:2A39 0100D50A:B2A6 06 00000000:00000000 00:00000000 00000000   104        0 5 1`;
    expect(countEstablished(tcp)).to.equal(2);
  });

  it('sums transmitted bytes of every interface but lo', () => {
    const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999 1 0 0 0 0 0 0  999 1 0 0 0 0 0 0
  eth0: 100 2 0 0 0 0 0 0 5000 7 0 0 0 0 0 0`;
    expect(txBytes(dev)).to.equal(5000);
  });

  it('CPU percent is CPU time over wall time; bytes served the difference', () => {
    const s = (atMs: number, cpuUsec: number, txBytes: number, conns: number) => ({ atMs, cpuUsec, memoryBytes: 2 ** 20, nbdRssKb: 2048, nbdProcesses: 2, nbdThreads: 4, nbdConnections: conns, txBytes, nbdRunDelayMs: atMs / 10 });
    const f = figures([s(0, 0, 100, 0), s(1000, 500_000, 1100, 5), s(2000, 1_000_000, 2100, 3)]);
    expect([f.cpuSeconds, f.cpuPercent, f.bytesServed, f.peakConnections, f.peakNbdRssMiB, f.nbdRunDelayMs]).to.deep.equal([1, 50, 2000, 5, 2, 200]);
  });

  it('finds the CPU, memory and process files of cgroup v1 and of v2', () => {
    const v1 = cgroupFiles('4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/docker/abc\n', () => true);
    expect([v1.cpu, v1.memory, v1.procs, v1.cpuUsec('2500000\n')]).to.deep.equal(['/sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage', '/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes', '/sys/fs/cgroup/cpuacct/docker/abc/cgroup.procs', 2500]);
    const v2 = cgroupFiles('0::/system.slice/docker-abc.scope\n', () => false);
    expect([v2.cpu, v2.memory, v2.cpuUsec('usage_usec 1234\nuser_usec 1\n')]).to.deep.equal(['/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.stat', '/sys/fs/cgroup/system.slice/docker-abc.scope/memory.current', 1234]);
  });

  it('refuses up front a storm past the descriptors or ports, saying how many fit', () => {
    expect(() => checkStormFits(900, { openFiles: 1024, ports: 28232 })).to.throw(UsageError, /at most 768 clients fit/);
    expect(() => checkStormFits(600, { openFiles: 65536, ports: 500 })).to.throw(UsageError, /at most 500 clients fit/);
    expect(() => checkStormFits(100, { openFiles: 1024, ports: 28232 })).to.not.throw();
  });
});

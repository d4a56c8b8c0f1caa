import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busySeconds, cpuStallMs, HostSampler, qemuCpu } from './host-sampler';
import { bootSample } from './sample';

/** A /proc/PID/stat line whose utime and stime (fields 14, 15) are given in ticks. */
const stat = (pid: number, comm: string, utime: number, stime: number): string =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 3 0 100 1000 100\n`;

describe('gate: HostSampler', () => {
  let proc: string;
  const put = (pid: number, argv0: string, utime: number, stime = 0): void => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cmdline'), `${argv0}\0-name\0c1\0`);
    writeFileSync(join(proc, String(pid), 'stat'), stat(pid, 'qemu-c1', utime, stime));
  };
  /** user nice system idle iowait irq softirq steal, in ticks. */
  const cpu = (busy: number, idle: number): void => writeFileSync(join(proc, 'stat'), `cpu  ${busy} 0 0 ${idle} 50 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n`);

  beforeEach(() => (proc = mkdtempSync(join(tmpdir(), 'gate-proc-'))));
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  it('busySeconds: user, nice, system, irq, softirq and steal; not idle or iowait', () => {
    expect(busySeconds('cpu  100 20 30 5000 400 5 5 40 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n')).to.equal(2);
    expect(() => busySeconds('intr 1 2 3\n')).to.throw(/no cpu line/);
  });

  it('qemuCpu: the QEMU processes by argv[0], with their CPU seconds; others are left out', () => {
    put(100, '/usr/bin/qemu-system-x86_64', 250, 50);
    put(200, '/usr/bin/node', 999);
    put(300, 'qemu-system-i386', 10);
    expect([...qemuCpu(proc)]).to.have.deep.members([[100, 3], [300, 0.1]]);
  });

  it("others' load: the host's busy CPU less what QEMU guests used, per second of wall time", () => {
    let now = 0;
    cpu(1000, 10_000);
    put(100, '/usr/bin/qemu-system-x86_64', 500); // 5 s of CPU before the window
    const s = new HostSampler({ procRoot: proc, clock: () => now });
    // 10 s later: the host was busy 20 CPU-seconds, of which the guests 16 (12 + a new one's 4).
    now = 10_000;
    cpu(3000, 12_000);
    put(100, '/usr/bin/qemu-system-x86_64', 1700);
    put(101, '/usr/bin/qemu-system-x86_64', 400);
    expect(s.stop()).to.include({ otherLoad: 0.4, guestsAtOnce: 2 });
  });

  it("a watched guest's vCPU wait, per poll, in ms since its QEMU started", () => {
    let now = 5000;
    cpu(0, 0);
    put(100, '/usr/bin/qemu-system-x86_64', 0);
    const task = (tid: number, runNs: number, waitNs: number): void => {
      mkdirSync(join(proc, '100', 'task', String(tid)), { recursive: true });
      writeFileSync(join(proc, '100', 'task', String(tid), 'schedstat'), `${runNs} ${waitNs} 42\n`);
    };
    task(100, 2e9, 9e9); // the main loop: less CPU, more wait; not the vCPU
    task(103, 40e9, 1e9);
    const s = new HostSampler({ procRoot: proc, clock: () => now });
    s.watch('c1', 100, 4000); // spawned 1 s before
    now = 7000;
    task(103, 41e9, 3e9);
    const waits = s.stop().waits!.get('c1')!;
    expect(waits.points).to.deep.equal([[1000, 1000], [3000, 3000]]);
  });

  it('a guest that is gone by the end still counts up to when it was last seen', () => {
    let now = 0;
    cpu(0, 0);
    put(100, '/usr/bin/qemu-system-x86_64', 0);
    const s = new HostSampler({ procRoot: proc, clock: () => now });
    put(100, '/usr/bin/qemu-system-x86_64', 800);
    (s as unknown as { poll(first: boolean): void }).poll(false);
    rmSync(join(proc, '100'), { recursive: true });
    now = 10_000;
    cpu(1000, 1000);
    expect(s.stop()).to.include({ otherLoad: 0.2, guestsAtOnce: 1 });
  });

  const pressure = (someUs: number): void => {
    mkdirSync(join(proc, 'pressure'), { recursive: true });
    writeFileSync(join(proc, 'pressure', 'cpu'), `some avg10=1.00 avg60=2.00 avg300=3.00 total=${someUs}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`);
  };

  it('cpuStallMs: the "some" total of /proc/pressure/cpu, in ms; null without PSI', () => {
    expect(cpuStallMs(proc)).to.equal(null);
    pressure(2_500_000);
    expect(cpuStallMs(proc)).to.equal(2500);
  });

  it("what shares the host: other runs' guests (not the watched ones) and other labs' servers (not its own)", async () => {
    let now = 0;
    cpu(0, 0);
    pressure(0);
    put(100, '/usr/bin/qemu-system-x86_64', 0); // ours, watched only once it has booted a little
    put(200, '/usr/bin/qemu-system-x86_64', 0); // another lab's
    put(400, '/usr/bin/qemu-system-x86_64', 0); // ours too: another lane's client of the same lab
    writeFileSync(join(proc, '400', 'cmdline'), '/usr/bin/qemu-system-x86_64\0-pidfile\0/run/ltsp-lab/abc123/c2/c2.pid\0');
    const s = new HostSampler({ procRoot: proc, clock: () => now, ownRun: 'abc123', ownStateDir: '/run/ltsp-lab/abc123', labs: async () => ['abc123', 'xyz789'] });
    now = 1000;
    put(300, '/usr/bin/qemu-system-x86_64', 0); // another lab's second client
    (s as unknown as { poll(first: boolean): void }).poll(false);
    s.watch('c1', 100, 0);
    rmSync(join(proc, '300'), { recursive: true });
    await s.settle();
    now = 2000;
    const host = s.stop();
    expect(host).to.deep.include({ foreignGuests: 2, guestsAtOnce: 4, otherLabs: ['xyz789'] });
  });

  it("the host's CPU stall, on each guest's clock, split over its stages by bootSample", () => {
    let now = 10_000;
    cpu(0, 0);
    pressure(50_000_000); // 50 s before the window: not counted
    put(100, '/usr/bin/qemu-system-x86_64', 0);
    const s = new HostSampler({ procRoot: proc, clock: () => now });
    s.watch('c1', 100, 10_000);
    now = 12_000;
    pressure(50_000_000 + 1_500_000);
    (s as unknown as { poll(first: boolean): void }).poll(false);
    now = 20_000;
    pressure(50_000_000 + 2_000_000);
    const host = s.stop();
    expect(host.stalls!.get('c1')!.points).to.deep.equal([[0, 0], [0, 0], [2000, 1500], [10_000, 2000]]);
    const marks = [
      { stage: 'nbd', label: '', t: 2000, line: '' },
      { stage: 'login', label: '', t: 10_000, line: '' },
    ];
    expect(bootSample(marks, 1, host, undefined, host.stalls!.get('c1'))).to.deep.include({ stallMs: { nbd: 1500, login: 500 }, totalStallMs: 2000 });
  });
});

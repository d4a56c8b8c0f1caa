import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vcpuWaitMs, WaitSeries } from './guest-wait';

describe('gate: guest waits for a host CPU', () => {
  it("vcpuWaitMs: the run-queue wait of the thread with the most CPU time; null for a process that is gone", () => {
    const proc = mkdtempSync(join(tmpdir(), 'gate-wait-'));
    try {
      for (const [tid, line] of [[7, '1000000 500000000 3'], [9, '90000000000 2500000000 99'], [8, 'garbage']] as const) {
        mkdirSync(join(proc, '7', 'task', String(tid)), { recursive: true });
        writeFileSync(join(proc, '7', 'task', String(tid), 'schedstat'), `${line}\n`);
      }
      expect(vcpuWaitMs(7, proc)).to.equal(2500);
      expect(vcpuWaitMs(8, proc)).to.equal(null);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('WaitSeries: interpolates between polls, holds after the last, scales up to the first', () => {
    const w = new WaitSeries();
    w.add(1000, 100);
    w.add(2000, 300);
    w.add(4000, 300);
    expect(w.at(500)).to.equal(50);
    expect(w.at(1500)).to.equal(200);
    expect(w.at(3000)).to.equal(300);
    expect(w.at(9000)).to.equal(300);
    expect(w.between(1000, 2000)).to.equal(200);
    expect(w.between(2000, 1000), 'never negative').to.equal(0);
    expect(new WaitSeries().at(5000)).to.equal(0);
  });
});

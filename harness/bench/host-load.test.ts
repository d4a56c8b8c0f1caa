import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuProcessCount } from './host-load';

describe('qemuProcessCount', () => {
  let proc: string;
  beforeEach(() => (proc = mkdtempSync(join(tmpdir(), 'ltsp-lab-proc-'))));
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  const pid = (n: number, argv: string[]): void => {
    mkdirSync(join(proc, String(n)));
    writeFileSync(join(proc, String(n), 'cmdline'), argv.join('\0') + '\0');
  };

  it('counts QEMU by argv[0], whatever they renamed themselves to', () => {
    pid(10, ['qemu-system-x86_64', '-name', 'c1,process=qemu-c1']);
    pid(11, ['/usr/bin/qemu-system-x86_64', '-m', '384']);
    pid(12, ['/usr/bin/node', 'qemu-system-x86_64']);
    pid(13, ['bash']);
    mkdirSync(join(proc, 'self'));
    expect(qemuProcessCount(proc)).to.equal(2);
  });

  it('skips a process that is gone meanwhile', () => {
    mkdirSync(join(proc, '20'));
    expect(qemuProcessCount(proc)).to.equal(0);
  });
});

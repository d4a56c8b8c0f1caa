import { expect } from 'chai';
import { ConsoleWaitError, formatTail, LaunchError, QmpError } from './errors';

const lines = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe('errors', () => {
  it('formatTail keeps the last 40 lines under a header', () => {
    const text = formatTail(lines(100));
    const out = text.split('\n');
    expect(out[0]).to.equal('--- last 40 console lines ---');
    expect(out).to.have.length(41);
    expect(out[1]).to.equal('line 61');
    expect(out[40]).to.equal('line 100');
    expect(formatTail([])).to.equal('--- no console output ---');
    expect(formatTail(['a'], 'stderr')).to.equal('--- last 1 stderr lines ---\na');
  });

  it('ConsoleWaitError explains each reason and ends with the tail', () => {
    const base = { console: 'c1', pattern: '/login: $/', elapsedMs: 90_000, consoleTail: lines(3), what: 'boot to login' };
    const timeout = new ConsoleWaitError({ ...base, reason: 'timeout' });
    expect(timeout.message).to.match(/^c1: timed out after 90\.0 s waiting for \/login: \$\/ \(boot to login\)\n/);
    expect(timeout.message.endsWith('--- last 3 console lines ---\nline 1\nline 2\nline 3')).to.equal(true);

    const panic = new ConsoleWaitError({
      ...base,
      reason: 'failure-pattern',
      matchedFailure: 'kernel-panic',
      failureLine: 'Kernel panic - not syncing: VFS',
    });
    expect(panic.message).to.contain("failure pattern 'kernel-panic' seen after 90.0 s").and.contain('"Kernel panic - not syncing: VFS"');
    expect(panic.matchedFailure).to.equal('kernel-panic');
    expect(new ConsoleWaitError({ ...base, reason: 'exited' }).message).to.contain('process exited after 90.0 s');
    expect(new ConsoleWaitError({ ...base, reason: 'closed' }).message).to.contain('console stream closed');
  });

  it('LaunchError appends the stderr tail', () => {
    const e = new LaunchError('qemu c1 exited with code 1', { process: 'qemu c1', stderrTail: ['qemu: could not open disk'] });
    expect(e.message).to.equal('qemu c1 exited with code 1\n--- last 1 stderr lines ---\nqemu: could not open disk');
    expect(e.stderrTail).to.deep.equal(['qemu: could not open disk']);
    expect(new LaunchError('no tail').message).to.equal('no tail');
  });

  it('QmpError carries the QMP error class and description', () => {
    const e = new QmpError('QMP set_link failed', { command: 'set_link', errorClass: 'DeviceNotFound', desc: 'no net0' });
    expect(e).to.include({ command: 'set_link', errorClass: 'DeviceNotFound', desc: 'no net0' });
  });});

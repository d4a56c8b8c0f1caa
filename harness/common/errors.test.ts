import { expect } from 'chai';
import {
  BootStageError,
  ConsoleWaitError,
  DeadlineError,
  HarnessError,
  LabError,
  LaunchError,
  QmpError,
  SetupError,
  SutError,
  UsageError,
  exitCodeOf,
  formatTail,
  type ConsoleWaitReason,
} from './errors';
import { NbdCommandError, NbdConnectError, NbdProtocolError, NbdRefusedError } from '../nbd/nbd-errors';
import { dockerFailed } from '../server/ltsp-server';

const lines = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe('errors', function () {
  this.timeout(2000);

  it('maps each kind to its exit code', () => {
    const cases: [LabError, string, number][] = [
      [new UsageError('bad flag'), 'usage', 2],
      [new SetupError('no /dev/net/tun'), 'setup', 3],
      [new SutError('login failed'), 'sut', 4],
      [new BootStageError({ stage: 'nbd-root', elapsedMs: 1, consoleTail: [] }), 'sut', 4],
      // A wait by itself proves nothing about the stack (see 'sorts the ambiguous ones' below).
      [new ConsoleWaitError({ console: 'c1', pattern: '/x/', reason: 'timeout', elapsedMs: 1, consoleTail: [] }), 'harness', 5],
      [new HarnessError('bug'), 'harness', 5],
      [new LaunchError('qemu died'), 'harness', 5],
      [new QmpError('eof'), 'harness', 5],
      [new DeadlineError('docker pull', 1000, 1001), 'harness', 5],
    ];
    for (const [err, kind, code] of cases) {
      expect(err.kind, err.name).to.equal(kind);
      expect(err.exitCode, err.name).to.equal(code);
      expect(exitCodeOf(err), err.name).to.equal(code);
      expect(err).to.be.instanceOf(Error);
    }
    expect(exitCodeOf(new Error('plain'))).to.equal(1);
    expect(exitCodeOf('a string')).to.equal(1);
  });

  it('sorts the ambiguous ones: exit 4 is the stack under test and nothing else', () => {
    const wait = (reason: ConsoleWaitReason): ConsoleWaitError => new ConsoleWaitError({ console: 'c1', pattern: '/login: $/', reason, elapsedMs: 1, consoleTail: [] });
    const cases: [string, LabError, number][] = [
      // The harness may have waited for the wrong thing: the lab's, until someone who knows says otherwise.
      ...(['timeout', 'failure-pattern', 'exited', 'closed'] as const).map((r): [string, LabError, number] => [`ConsoleWaitError ${r}`, wait(r), 5]),
      // followStages knows the stage and wraps the wait: the stack's.
      ['BootStageError around a wait', new BootStageError({ stage: 'login', elapsedMs: 1, consoleTail: [], cause: wait('timeout') }), 4],
      // Our own NBD client could have broken the exchange.
      ['NbdProtocolError', new NbdProtocolError('bad reply magic'), 5],
      ['NbdRefusedError', new NbdRefusedError({ server: 's:10809', during: 'NBD_OPT_GO', reason: 'NBD_REP_ERR_POLICY' }), 4],
      ['NbdCommandError', new NbdCommandError({ server: 's', exportName: 'root', command: 'NBD_CMD_READ', offset: 0n, length: 1, errno: 5, errnoName: 'EIO' }), 4],
      ['NbdConnectError', new NbdConnectError('refused', { server: 's', code: 'ECONNREFUSED' }), 4],
    ];
    for (const [what, err, code] of cases) expect(exitCodeOf(err), what).to.equal(code);
  });

  it('an LTSP server start that failed in docker is the lab\'s, one that never got ready the stack\'s', () => {
    expect(dockerFailed(Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500 }))).to.equal(true);
    expect(dockerFailed(Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }))).to.equal(true);
    expect(dockerFailed(new Error('Log message "/ltsp-server: ready/" not received after 30000ms'))).to.equal(false);
  });

  it('keeps the class hierarchy so CI can tell the lab from the stack', () => {
    expect(new BootStageError({ stage: 's', elapsedMs: 0, consoleTail: [] })).to.be.instanceOf(SutError);
    expect(new QmpError('x')).to.be.instanceOf(HarnessError).and.not.instanceOf(SutError);
    expect(new LaunchError('x').name).to.equal('LaunchError');
  });

  it('carries hint and cause', () => {
    const cause = new Error('EACCES');
    const e = new SetupError('cannot open /dev/kvm', { hint: 'add yourself to the kvm group', cause });
    expect(e.hint).to.equal('add yourself to the kvm group');
    expect(e.cause).to.equal(cause);
  });

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

  it('BootStageError names the stage and time and ends with the console tail', () => {
    const e = new BootStageError({ stage: 'nbd-root', elapsedMs: 12_345, consoleTail: lines(50), detail: 'no root' });
    expect(e.message).to.match(/^boot stage 'nbd-root' failed after 12\.3 s: no root\n--- last 40 console lines ---\n/);
    expect(e.message.endsWith('line 50')).to.equal(true);
    expect(e.stage).to.equal('nbd-root');
    expect(e.consoleTail).to.have.length(50);
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
  });
});

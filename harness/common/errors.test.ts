import { expect } from 'chai';
import {
  BootStageError,
  ConsoleLogError,
  ConsoleWaitError,
  DeadlineError,
  HarnessError,
  LabError,
  LaunchError,
  QmpError,
  SetupError,
  SutError,
  UsageError,
  QemuConfigError,
  QemuWrapperError,
  consoleLogSetupError,
  errorKind,
  exitCodeOf,
  qemuConfigUsageError,
  qemuLaunchError,
  type ConsoleWaitReason,
} from './errors';
import { NbdCommandError, NbdConnectError, NbdProtocolError, NbdRefusedError } from '../nbd/nbd-errors';
import { dockerFailed } from '../server/ltsp-server';

const lines = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe('errors', function () {
  this.timeout(2000);

  it('maps each kind to its exit code', () => {
    const cases: [LabError | QemuWrapperError, string, number][] = [
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
      [new QemuConfigError('memory 12 MB is out of range'), 'usage', 2],
      [new ConsoleLogError('c1: the console log could not be written whole', { path: '/dev/full', code: 'ENOSPC' }), 'setup', 3],
    ];
    for (const [err, kind, code] of cases) {
      expect(errorKind(err), err.name).to.equal(kind);
      expect(exitCodeOf(err), err.name).to.equal(code);
      expect(err).to.be.instanceOf(Error);
    }
    expect(exitCodeOf(new Error('plain'))).to.equal(1);
    expect(exitCodeOf('a string')).to.equal(1);
  });

  it('sorts the ambiguous ones: exit 4 is the stack under test and nothing else', () => {
    const wait = (reason: ConsoleWaitReason): ConsoleWaitError => new ConsoleWaitError({ console: 'c1', pattern: '/login: $/', reason, elapsedMs: 1, consoleTail: [] });
    const cases: [string, LabError | QemuWrapperError, number][] = [
      // The harness may have waited for the wrong thing: the lab's, until someone who knows says otherwise.
      ...(['timeout', 'failure-pattern', 'exited', 'closed'] as const).map((r): [string, LabError | QemuWrapperError, number] => [`ConsoleWaitError ${r}`, wait(r), 5]),
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
    expect(new QmpError('x')).to.be.instanceOf(QemuWrapperError).and.not.instanceOf(SutError);
    expect(new LaunchError('x').name).to.equal('LaunchError');
  });

  it('reads a console log on a full disk as a SetupError that says what to do', () => {
    const e = consoleLogSetupError(new ConsoleLogError('c1: the console log /r/c1/console.log could not be written whole', { path: '/r/c1/console.log', code: 'ENOSPC' }));
    expect(e).to.be.instanceOf(SetupError);
    expect(e.message).to.equal("c1: the console log /r/c1/console.log could not be written whole: the report folder's disk is full");
    expect(e.hint).to.match(/--report/);
  });

  it('reads a builder input QEMU cannot take as a UsageError, with the hint given, and leaves other errors alone', () => {
    const e = qemuConfigUsageError(new QemuConfigError('memory 12 MB is out of range: give 64 to 65536 MB'), '256 MB is the smallest');
    expect(e).to.be.instanceOf(UsageError);
    expect((e as UsageError).message).to.equal('memory 12 MB is out of range: give 64 to 65536 MB');
    expect((e as UsageError).hint).to.equal('256 MB is the smallest');
    const other = new QmpError('eof');
    expect(qemuConfigUsageError(other)).to.equal(other);
  });

  it('reads a missing QEMU binary as a SetupError with the package to install, and leaves other launch errors alone', () => {
    const missing = qemuLaunchError(new LaunchError('qemu c1: cannot start qemu-system-x86_64: binary is missing', { code: 'ENOENT' }), 'qemu-system-x86_64');
    expect(missing).to.be.instanceOf(SetupError);
    expect((missing as SetupError).message).to.equal('QEMU is missing: cannot run qemu-system-x86_64');
    const denied = new LaunchError('qemu c1: cannot start x: permission denied', { code: 'EACCES' });
    expect(qemuLaunchError(denied, 'x')).to.equal(denied);
  });

  it('carries hint and cause', () => {
    const cause = new Error('EACCES');
    const e = new SetupError('cannot open /dev/kvm', { hint: 'add yourself to the kvm group', cause });
    expect(e.hint).to.equal('add yourself to the kvm group');
    expect(e.cause).to.equal(cause);
  });

  it('BootStageError names the stage and time and ends with the console tail', () => {
    const e = new BootStageError({ stage: 'nbd-root', elapsedMs: 12_345, consoleTail: lines(50), detail: 'no root' });
    expect(e.message).to.match(/^boot stage 'nbd-root' failed after 12\.3 s: no root\n--- last 40 console lines ---\n/);
    expect(e.message.endsWith('line 50')).to.equal(true);
    expect(e.stage).to.equal('nbd-root');
    expect(e.consoleTail).to.have.length(50);
  });


});

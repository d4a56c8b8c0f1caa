import { expect } from 'chai';
import { BootStageError, ConsoleWaitError } from '../common/errors';
import { failureSummary } from './memory-case';

function stageError(wait: ConsoleWaitError): BootStageError {
  return new BootStageError({ stage: 'initramfs start (initramfs)', elapsedMs: 28_100, consoleTail: [], detail: wait.message.split('\n')[0], cause: wait });
}

describe('failureSummary (the -m search table)', () => {
  it('a failure pattern: its name and the console line, without the kernel timestamp', () => {
    const wait = new ConsoleWaitError({
      console: 'mem-m288',
      pattern: '/Run \\/init as init process/',
      reason: 'failure-pattern',
      elapsedMs: 4500,
      consoleTail: [],
      matchedFailure: 'kernel-panic',
      failureLine: '[    4.155591] Kernel panic - not syncing: System is deadlocked on memory',
    });
    expect(failureSummary(stageError(wait))).to.equal('kernel-panic: Kernel panic - not syncing: System is deadlocked on memory');
  });

  it('a timeout and an exit say so', () => {
    const wait = (reason: 'timeout' | 'exited'): ConsoleWaitError => new ConsoleWaitError({ console: 'c', pattern: '/x/', reason, elapsedMs: 61_400, consoleTail: [] });
    expect(failureSummary(stageError(wait('timeout')))).to.equal('timed out after 61 s');
    expect(failureSummary(stageError(wait('exited')))).to.equal('QEMU exited');
  });

  it('anything else: the first line of its message', () => {
    expect(failureSummary(new Error('first\nsecond'))).to.equal('first');
  });
});

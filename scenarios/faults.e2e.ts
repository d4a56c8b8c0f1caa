import { expect } from 'chai';
import { BootStageError, ConsoleWaitError, type StartedLab } from '../harness/index';
import { rejection } from './support/outcome';
import { startClient, startSuiteLab } from './support/suite-lab';

/** The reason the console wait behind a boot failure gave up. */
function waitReason(e: unknown): string | undefined {
  const cause = e instanceof Error ? e.cause : undefined;
  return cause instanceof ConsoleWaitError ? cause.reason : undefined;
}

describe('faults: a boot that cannot succeed fails fast, at a named stage', function () {
  let lab: StartedLab | undefined;

  before(async function () {
    lab = await startSuiteLab(this.test!.parent!);
  });

  after(async function () {
    await lab?.server.sh('pkill -CONT dnsmasq', true).catch(() => undefined);
    await lab?.stop();
  });

  it('a wrong NBD export name given with --append fails at "NBD connected", on the console\'s own error, not a timeout', async function () {
    // The harness refuses an unknown --export up front; a root= of the user's own on the
    // kernel command line (dracut takes the last one) still reaches the client.
    const c = await startClient(lab!, 'badexport', (b) => b.withAppend(`root=nbd:${lab!.server.ip}:nosuch:ext4:ro`));
    try {
      const err = await rejection(c.waitForBoot());
      expect(err, 'the boot must fail').to.be.instanceOf(BootStageError);
      const e = err as BootStageError;
      expect(e.stage).to.match(/NBD connected/);
      expect(waitReason(e), e.message).to.equal('failure-pattern');
      // It ends with the console tail, and the tail holds nbd-client's own refusal.
      expect(e.message).to.match(/--- last \d+ console lines ---\n/);
      expect(e.consoleTail.join('\n')).to.match(/E: Export unknown|Server closed connection|Error: Unknown error/);
      expect(c.report().ok).to.equal(false);
    } finally {
      await c.stop();
    }
  });

  it('with the server\'s DHCP stopped, the client fails at "DHCP lease"', async function () {
    await lab!.server.sh('pkill -STOP dnsmasq');
    const c = await startClient(lab!, 'nodhcp');
    try {
      const err = await rejection(c.waitForBoot());
      expect(err, 'the boot must fail').to.be.instanceOf(BootStageError);
      expect((err as BootStageError).stage).to.match(/DHCP lease/);
      expect(waitReason(err), (err as Error).message).to.equal('failure-pattern');
    } finally {
      await lab!.server.sh('pkill -CONT dnsmasq', true);
      await c.stop();
    }
  });
});

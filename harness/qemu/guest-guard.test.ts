import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../common/errors';
import { QemuMachine } from '../qemu-ts-wrapper';
import { assertGuestAllowed, NO_GUESTS_ENV } from './guest-guard';
import { spawnQemu } from './lab-qemu';

describe('guest guard: no QEMU guest where NO_GUESTS_ENV is set', function () {
  it('allows a guest where it is unset or empty', function () {
    expect(() => assertGuestAllowed('c1', {})).to.not.throw();
    expect(() => assertGuestAllowed('c1', { [NO_GUESTS_ENV]: '' })).to.not.throw();
  });

  it('refuses one where it is set: a HarnessError naming the machine and the lane, pointing at the lane table', function () {
    let err: unknown;
    try {
      assertGuestAllowed('c1', { [NO_GUESTS_ENV]: "./lab test's guestless lane" });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(HarnessError);
    expect((err as HarnessError).message).to.match(/QEMU guest 'c1' started in \.\/lab test's guestless lane, which runs no guest/);
    expect((err as HarnessError).hint).to.match(/GUESTLESS_FILES \(harness\/shard\/lanes\.ts\)/);
  });

  it('the lab starts QEMU through it: spawnQemu refuses before it spawns anything', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'guest-guard-'));
    const saved = process.env[NO_GUESTS_ENV];
    process.env[NO_GUESTS_ENV] = 'this test';
    try {
      // A QEMU that does not exist: spawned, it would be a SetupError; refused, it never is.
      const machine = new QemuMachine('guarded', dir).withBinary(join(dir, 'no-qemu-here')).withoutQmp();
      const err = await spawnQemu(machine).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, String(err)).to.be.instanceOf(HarnessError);
      expect((err as Error).message).to.match(/QEMU guest 'guarded' started in this test/);
    } finally {
      if (saved === undefined) delete process.env[NO_GUESTS_ENV];
      else process.env[NO_GUESTS_ENV] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

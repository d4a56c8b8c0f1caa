import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';
import { repoRoot } from '../common/paths';
import { NO_GUESTS_ENV } from '../qemu/guest-guard';
import { GUESTLESS_FILES, GUESTLESS_LANE_DONE_ENV, HOST_ALONE_FILES, splitLanes, waitForLaneEnd } from './lanes';
import { e2eFiles } from './test-plan';

describe('./lab test lanes: the guest lane and the guestless lane', function () {
  it('every guestless file is an e2e file of the repo, and says what it runs instead of a guest', function () {
    const files = new Set(e2eFiles());
    for (const [f, what] of Object.entries(GUESTLESS_FILES)) {
      expect(files.has(f), `${f} is no e2e file`).to.equal(true);
      expect(what, f).to.have.length.above(10);
    }
  });

  it('splits the files between the lanes, each in the order given, every file in one lane, the host-alone files last', function () {
    const files = ['scenarios/b.e2e.ts', 'scenarios/a.e2e.ts', 'scenarios/e.e2e.ts', 'scenarios/c.e2e.ts', 'scenarios/d.e2e.ts'];
    const lanes = splitLanes(files, { 'scenarios/c.e2e.ts': 'x', 'scenarios/a.e2e.ts': 'y', 'scenarios/z.e2e.ts': 'not given' }, { 'scenarios/b.e2e.ts': 'timed' });
    expect(lanes).to.deep.equal({ guests: ['scenarios/e.e2e.ts', 'scenarios/d.e2e.ts', 'scenarios/b.e2e.ts'], guestless: ['scenarios/a.e2e.ts', 'scenarios/c.e2e.ts'] });
  });

  it('the host-alone files are exactly the e2e files that wait for the guestless lane (hostToItself), and boot', function () {
    const waiting = e2eFiles().filter((f) => /\bhostToItself\(/.test(readFileSync(join(repoRoot(), f), 'utf8')));
    expect(waiting.sort()).to.deep.equal(Object.keys(HOST_ALONE_FILES).sort());
    for (const f of waiting) expect(Object.hasOwn(GUESTLESS_FILES, f), `${f} is guestless`).to.equal(false);
  });

  it('the lab script sets both variables, by the names the harness reads', function () {
    const script = readFileSync(join(repoRoot(), 'lab'), 'utf8');
    expect(script).to.include(`${NO_GUESTS_ENV}=`);
    expect(script).to.include(`${GUESTLESS_LANE_DONE_ENV}=`);
  });

  describe('waiting for the guestless lane to end', function () {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('returns once the lane has written its status', async function () {
      dir = mkdtempSync(join(tmpdir(), 'lanes-'));
      const done = join(dir, 'guestless');
      setTimeout(() => writeFileSync(done, '0\n'), 600);
      const t0 = performance.now();
      await waitForLaneEnd(done, Deadline.after(10_000, 'lane end'));
      expect(performance.now() - t0).to.be.within(400, 5000);
    });

    it('a lane that runs on past the deadline is a HarnessError naming its status file', async function () {
      dir = mkdtempSync(join(tmpdir(), 'lanes-'));
      const done = join(dir, 'guestless');
      const err = await waitForLaneEnd(done, Deadline.after(700, 'lane end')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(HarnessError);
      expect((err as Error).message).to.include(`the guestless lane of ./lab test has not ended (no ${done})`);
    });
  });
});

import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline, execCommand, replayClient, type PlannedRead, type ReplayResult, type StartedLab, hostBudgetMs } from '../harness/index';
import { exportFiles } from './support/exports';
import { leftovers, NOTHING } from './support/leftovers';
import { startSuiteLab } from './support/suite-lab';

/*
 * The image is updated while the clients run (issue 25, field events): an admin writes
 * the new image over the served file in place, or builds it beside and renames it over
 * the old. Replayed clients read the export the whole time, each reply compared with the
 * image they started on. nbd-server's process for a connection opens the export file
 * once, at the connection's start, and reads it with pread: a rename leaves it the old
 * inode, a write in place changes what it reads under a mounted filesystem.
 */

const MIB = 2 ** 20;
const SIZE = 16 * MIB;
const READ = 128 * 1024;
const DIR = '/srv/upd';
const UPDATE = {
  name: 'upd',
  conf: `# the image-update field event: an export whose file is replaced while clients read it
[upd]
	exportname = ${DIR}/img
	readonly = true
	authfile = /etc/nbd-server/allow
`,
};

/** Two images that differ in every 4 KiB block, so any block read from the other is seen. */
function image(seed: number): Buffer {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) b.writeUInt32LE(((i >> 12) * 2654435761 + seed) >>> 0, i);
  return b;
}

/** Every block of the image once, 128 KiB reads 25 ms apart: about 3.2 s per client. */
const PLAN: PlannedRead[] = Array.from({ length: SIZE / READ }, (_, i) => ({ offset: i * READ, length: READ, gapMs: 25, dep: i - 1, afterDepMs: 25 }));

describe('image update under running clients: in place tears the image they read, a rename leaves them the old one @full', function () {
  let lab: StartedLab | undefined;
  let dir: string;
  const fds: Record<'a' | 'b', number> = { a: -1, b: -1 };

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'image-update-'));
    writeFileSync(join(dir, 'a'), image(1));
    writeFileSync(join(dir, 'b'), image(2));
    fds.a = openSync(join(dir, 'a'), 'r');
    fds.b = openSync(join(dir, 'b'), 'r');
    lab = await startSuiteLab(this.test!.parent!, (l) => l.withServerFiles(exportFiles(UPDATE)));
    await lab.server.sh(`mkdir -p ${DIR}`);
    const d = Deadline.after(hostBudgetMs('hostFiles'), 'copy the images into the server');
    for (const f of ['a', 'b']) await execCommand('docker', ['cp', join(dir, f), `${lab.server.getId()}:${DIR}/${f}`], { deadline: d });
  });

  after(async function () {
    for (const fd of Object.values(fds)) if (fd >= 0) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    const id = lab?.run.id;
    await lab?.stop();
    if (id) expect(await leftovers(id)).to.deep.equal(NOTHING);
  });

  /** `n` replayed clients reading the export from start to end, compared with image `against`; `update` runs 1 s in. */
  async function storm(n: number, against: 'a' | 'b', update?: string): Promise<ReplayResult[]> {
    const d = Deadline.after(hostBudgetMs('stormReplay'), 'the replays of the update export');
    const runs = Array.from({ length: n }, (_, i) =>
      replayClient({ name: `u${i + 1}`, host: lab!.server.ip, port: 10809, exportName: 'upd', plan: PLAN, pace: 'recorded', maxInFlight: 1, startMs: 0, imageFd: fds[against], deadline: d }),
    );
    if (update) {
      await d.sleep(1000);
      await lab!.server.sh(update, false, d);
    }
    return Promise.all(runs);
  }

  const mismatches = (rs: ReplayResult[]): number => rs.reduce((s, r) => s + r.errors.filter((e) => /differs from the image/.test(e.what)).length, 0);

  it('written over in place (dd conv=notrunc onto the served file): running clients read blocks of the new image mid-boot', async function () {
    await lab!.server.sh(`cp ${DIR}/a ${DIR}/img.new && mv ${DIR}/img.new ${DIR}/img`);
    const rs = await storm(4, 'a', `dd if=${DIR}/b of=${DIR}/img bs=1M conv=notrunc status=none`);
    for (const r of rs) expect(r.completed, `${r.name} completed`).to.equal(PLAN.length);
    // the reads before the write matched the old image, those after it the new one: a torn image
    for (const r of rs) {
      expect(r.verified, `${r.name}'s reads of the old image`).to.be.above(0);
      expect(mismatches([r]), `${r.name}'s reads of the new image`).to.be.above(0);
    }
  });

  it('built beside and renamed over it (mv): running clients read the old image to the end, new ones the new image', async function () {
    await lab!.server.sh(`cp ${DIR}/a ${DIR}/img.new && mv ${DIR}/img.new ${DIR}/img`);
    const rs = await storm(4, 'a', `cp ${DIR}/b ${DIR}/img.new && mv ${DIR}/img.new ${DIR}/img`);
    for (const r of rs) {
      expect(r.errors, `${r.name}'s errors`).to.deep.equal([]);
      expect(r.verified, `${r.name}'s replies equal to the old image`).to.equal(PLAN.length);
    }
    const after = await storm(2, 'b');
    for (const r of after) expect([r.errors, r.verified], `${r.name}, connected after the rename`).to.deep.equal([[], PLAN.length]);
  });
});

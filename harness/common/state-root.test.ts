import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetupError } from './errors';
import { checkStateRoot, processStartTime, RUN_MARKER, runMarkerText, scanStateRoot } from './state-root';

/** Above the kernel's largest pid_max (2^22): never a live process. */
const DEAD_PID = 99999999;

describe('state root: the lab keeps its runs in a folder of its own', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lab-root-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function runFolder(name: string, marker: string | undefined, owner?: string): void {
    mkdirSync(join(root, name));
    if (marker !== undefined) writeFileSync(join(root, name, RUN_MARKER), marker);
    if (owner !== undefined) writeFileSync(join(root, name, 'owner'), `${owner}\n`);
  }

  it('takes only marked folders for runs; its host-wide files and folders being registered are the lab\'s too', () => {
    const me = `${process.pid}:${processStartTime(process.pid)}`;
    runFolder('aaaaaa', runMarkerText('aaaaaa'), me);
    runFolder('bbbbbb', runMarkerText('bbbbbb'), `${DEAD_PID}:1`);
    runFolder('cccccc', runMarkerText('cccccc'));
    runFolder(`.new-dddddd-${DEAD_PID}`, runMarkerText('dddddd'));
    runFolder(`.new-eeeeee-${process.pid}`, undefined); // another lab between its mkdir and its marker
    runFolder(`.new-ffffff-${DEAD_PID}`, undefined); // a crash in that window: empty
    writeFileSync(join(root, 'accel-verdict.json'), '[]');
    writeFileSync(join(root, `accel-verdict.json.${process.pid}.tmp`), '[');
    writeFileSync(join(root, `.write-probe-${process.pid}`), '');
    const scan = checkStateRoot({ root });
    expect([...scan.runs]).to.deep.equal([['aaaaaa', me], ['bbbbbb', `${DEAD_PID}:1`], ['cccccc', undefined]]);
    expect([...scan.pending.keys()].sort()).to.deep.equal([`.new-dddddd-${DEAD_PID}`, `.new-eeeeee-${process.pid}`, `.new-ffffff-${DEAD_PID}`]);
    expect(scan.foreign).to.deep.equal([]);
  });

  it('a name that fits a run id is not enough: a folder of user data, an unmarked or wrongly marked folder are not the lab\'s', () => {
    mkdirSync(join(root, 'photos', '2024'), { recursive: true });
    writeFileSync(join(root, 'photos', '2024', 'img.txt'), 'img');
    mkdirSync(join(root, 'backup'));
    writeFileSync(join(root, 'backup', 'db.sql'), 'db');
    writeFileSync(join(root, 'config'), 'x');
    runFolder('abc123', undefined, `${DEAD_PID}:1`); // an old run folder of a dead lab, or anybody's
    runFolder('def456', runMarkerText('zzzzzz'));
    runFolder(`.new-ghi789-${DEAD_PID}`, undefined);
    writeFileSync(join(root, `.new-ghi789-${DEAD_PID}`, 'notes'), 'mine');
    expect(scanStateRoot(root).foreign).to.deep.equal([`.new-ghi789-${DEAD_PID}`, 'abc123', 'backup', 'config', 'def456', 'photos']);
    const before = readdirSync(root, { recursive: true }).sort();
    expect(() => checkStateRoot({ root })).to.throw(SetupError, /holds what the lab did not make \(\.new-ghi789-99999999, abc123, backup, config, def456, and 1 more\).*will not use this one/);
    expect(readdirSync(root, { recursive: true }).sort()).to.deep.equal(before);
  });

  it('an older lab\'s unmarked run folder is left alone while its owner lives, and neither taken nor refused', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      runFolder('old123', undefined, `${child.pid}:${processStartTime(child.pid as number)}`);
      const scan = checkStateRoot({ root });
      expect(scan.unmarkedLive).to.deep.equal(['old123']);
      expect(scan.runs.size).to.equal(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses /proc, /sys and what is under them, a file, and a folder it cannot write, each as a SetupError (exit 3)', () => {
    for (const bad of ['/proc/ltsp-lab-state', '/proc/1', '/proc', '/sys/ltsp-lab', '/sys/fs/cgroup']) {
      expect(() => checkStateRoot({ root: bad }), bad).to.throw(SetupError, /cannot be used: (it is under \/(proc|sys)|.* is on \w+, a kernel pseudo filesystem)/);
    }
    writeFileSync(join(root, 'file'), '');
    expect(() => checkStateRoot({ root: join(root, 'file', 'state') })).to.throw(SetupError, /cannot be used: .*\/file is not a folder/);
    const e = (() => {
      try {
        checkStateRoot({ root: '/proc/1' });
      } catch (err) {
        return err as SetupError;
      }
      throw new Error('no error');
    })();
    expect(e.exitCode).to.equal(3);
    expect(e.hint).to.match(/point LTSP_LAB_STATE at a folder of the lab's own/);
  });

  it('makes a missing root, level by level; a read-only look (ls) makes nothing', () => {
    const deep = join(root, 'a', 'b', 'state');
    expect(checkStateRoot({ root: deep, write: false }).runs.size).to.equal(0);
    expect(readdirSync(root)).to.deep.equal([]);
    checkStateRoot({ root: deep });
    expect(readdirSync(deep)).to.deep.equal([]);
  });
});

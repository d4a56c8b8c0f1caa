import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetupError, UsageError } from '../common/errors';
import { RUN_MARKER, runMarkerText } from '../common/state-root';
import { RunContext } from '../common/run-context';
import { listRuns, pickRun, readRunFile, RUN_FILE, writeRunFile, type RunFileData } from './run-file';

/** The owner string of a process that is not running (pid 1's start time is never 0... but its pid is not ours). */
const DEAD_OWNER = '999999:1';

function data(run: string, over: Partial<RunFileData> = {}): RunFileData {
  return {
    version: 1,
    run,
    owner: new RunContext(run).owner,
    pid: process.pid,
    startedAt: '2026-12-02T03:00:00.000Z',
    command: './lab boot --keep',
    reportDir: '/tmp/reports/boot-x',
    kept: true,
    clients: [{ name: 'c1', mac: '52:54:00:4c:30:01', state: 'up', stage: 'login prompt', lease: '10.213.1.100', console: '/run/ltsp-lab/x/c1/console.sock', consoleLog: '/tmp/c1/console.log' }],
    ...over,
  };
}

describe('run files: what ./lab ls, attach and stop know of a ./lab boot', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lab-runs-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A state folder as RunContext.register makes it, with an optional run file. */
  function stateDir(id: string, owner: string, file?: RunFileData): string {
    const dir = join(root, id);
    mkdirSync(dir);
    writeFileSync(join(dir, RUN_MARKER), runMarkerText(id));
    writeFileSync(join(dir, 'owner'), `${owner}\n`);
    if (file) writeRunFile(dir, file);
    return dir;
  }

  it('is written whole, by a rename: no temp file is left and a reader gets it back as written', () => {
    const dir = stateDir('aaaaaa', new RunContext('aaaaaa').owner);
    writeRunFile(dir, data('aaaaaa'));
    writeRunFile(dir, data('aaaaaa', { kept: false }));
    expect(readdirSync(dir).sort()).to.deep.equal([RUN_MARKER, 'owner', RUN_FILE]);
    expect(readRunFile(dir)).to.deep.equal(data('aaaaaa', { kept: false }));
  });

  it('a missing, torn or foreign run file reads as none', () => {
    const dir = stateDir('bbbbbb', DEAD_OWNER);
    expect(readRunFile(dir)).to.equal(undefined);
    writeFileSync(join(dir, RUN_FILE), '{"version": 1, "clients": [');
    expect(readRunFile(dir)).to.equal(undefined);
    writeFileSync(join(dir, RUN_FILE), '{"version": 2, "clients": []}');
    expect(readRunFile(dir)).to.equal(undefined);
    // run-file.schema.json: a version 1 file missing what ./lab ls prints is none either.
    writeFileSync(join(dir, RUN_FILE), JSON.stringify({ ...data('bbbbbb'), owner: undefined }));
    expect(readRunFile(dir)).to.equal(undefined);
    writeFileSync(join(dir, RUN_FILE), JSON.stringify(data('bbbbbb', { clients: [{ name: 'c1' } as RunFileData['clients'][number]] })));
    expect(readRunFile(dir)).to.equal(undefined);
    writeFileSync(join(dir, RUN_FILE), JSON.stringify(data('bbbbbb')));
    expect(readRunFile(dir)).to.deep.equal(data('bbbbbb'));
  });

  it('lists run folders only (not the accelerator verdict, not a folder being registered), oldest first, live or dead by their owner', () => {
    const me = new RunContext('cccccc').owner;
    stateDir('cccccc', me, data('cccccc', { startedAt: '2026-12-02T03:05:00.000Z' }));
    stateDir('dddddd', DEAD_OWNER, data('dddddd', { startedAt: '2026-12-02T03:01:00.000Z' }));
    const testLab = stateDir('eeeeee', me);
    utimesSync(join(testLab, 'owner'), new Date('2026-12-02T02:00:00Z'), new Date('2026-12-02T02:00:00Z'));
    writeFileSync(join(testLab, 'c1.pid'), '1\n'); // moves the folder's time, not the run's
    writeFileSync(join(root, 'accel-verdict.json'), '{}');
    mkdirSync(join(root, '.new-ffffff-123'));
    const runs = listRuns(root);
    expect(runs.map((r) => [r.id, r.alive, r.file !== undefined])).to.deep.equal([
      ['eeeeee', true, false],
      ['dddddd', false, true],
      ['cccccc', true, true],
    ]);
    expect(runs[0]!.startedAt.toISOString()).to.equal('2026-12-02T02:00:00.000Z');
  });

  it('lists no folder of user data as a run: a root that holds what the lab did not make is refused (exit 3)', () => {
    mkdirSync(join(root, 'photos', '2024'), { recursive: true });
    writeFileSync(join(root, 'photos', '2024', 'img.txt'), 'img');
    writeFileSync(join(root, 'config'), 'x');
    mkdirSync(join(root, 'backup')); // unmarked
    writeFileSync(join(root, 'backup', 'owner'), `${DEAD_OWNER}\n`);
    stateDir('cccccc', new RunContext('cccccc').owner);
    expect(() => listRuns(root)).to.throw(SetupError, /holds what the lab did not make \(backup, config, photos\)/);
  });

  it('knows whose a live run is (its owner\'s uid)', () => {
    stateDir('cccccc', new RunContext('cccccc').owner, data('cccccc'));
    stateDir('dddddd', DEAD_OWNER, data('dddddd'));
    expect(listRuns(root).map((r) => [r.id, r.uid]).sort()).to.deep.equal([['cccccc', process.getuid?.()], ['dddddd', undefined]]);
  });

  it('an empty or missing state root lists nothing', () => {
    expect(listRuns(join(root, 'nope'))).to.deep.equal([]);
  });

  describe('pickRun: the run a command means', () => {
    const live = (id: string): ReturnType<typeof listRuns>[number] => ({ id, alive: true, owner: `${process.pid}:1`, startedAt: new Date(), file: data(id) });

    it('the only live run with a run file, when none is named', () => {
      const runs = [live('aaaaaa'), { ...live('bbbbbb'), file: undefined }, { ...live('cccccc'), alive: false }];
      expect(pickRun(runs, undefined).id).to.equal('aaaaaa');
    });

    it('two live runs and none named: a UsageError that lists them', () => {
      const e = (() => {
        try {
          pickRun([live('aaaaaa'), live('bbbbbb')], undefined);
        } catch (err) {
          return err as UsageError;
        }
        throw new Error('no error');
      })();
      expect(e).to.be.instanceOf(UsageError);
      expect(e.message).to.equal('2 runs are live: say which');
      expect(e.hint).to.equal('live runs: aaaaaa, bbbbbb');
    });

    it('a named run that is unknown, dead, or not a ./lab boot: UsageErrors that say so', () => {
      const runs = [live('aaaaaa'), { ...live('bbbbbb'), alive: false, owner: '4242:7' }, { ...live('cccccc'), file: undefined }];
      expect(() => pickRun(runs, 'zzzzzz')).to.throw(UsageError, "there is no run 'zzzzzz'");
      expect(() => pickRun(runs, 'bbbbbb')).to.throw(UsageError, 'run bbbbbb is not live: its owner (pid 4242) is gone');
      expect(() => pickRun(runs, 'cccccc')).to.throw(UsageError, 'run cccccc is not a ./lab boot --keep run');
      expect(pickRun(runs, 'aaaaaa').id).to.equal('aaaaaa');
    });

    describe('for ./lab stop: only kept runs, and by default only the caller\'s', () => {
      const STOP = { what: (r: ReturnType<typeof listRuns>[number]) => r.file?.kept === true, whatName: 'kept', uid: 1000, otherUsers: '--all-users', label: 'kept runs of yours' };
      const booting = { ...live('bbbbbb'), uid: 1000, file: data('bbbbbb', { kept: false, command: './lab boot' }) };
      const kept = { ...live('aaaaaa'), uid: 1000 };
      const theirs = { ...live('cccccc'), uid: 2000, file: data('cccccc', { command: './lab boot --keep --nic e1000' }) };

      it('never picks a boot that is not kept, alone or named', () => {
        expect(() => pickRun([booting], undefined, STOP)).to.throw(UsageError, 'no run to pick');
        expect(() => pickRun([booting], 'bbbbbb', STOP)).to.throw(UsageError, 'run bbbbbb is not kept');
      });

      it('never picks another user\'s run, nor offers it; named, it takes --all-users', () => {
        expect(() => pickRun([theirs], undefined, STOP)).to.throw(UsageError, 'no run to pick');
        expect(() => pickRun([theirs], 'cccccc', STOP)).to.throw(UsageError, 'run cccccc is another user\'s (uid 2000)');
        expect(pickRun([theirs], 'cccccc', { ...STOP, uid: undefined }).id).to.equal('cccccc');
      });

      it('picks the one kept run of the caller, and its hint offers only such runs', () => {
        expect(pickRun([booting, kept, theirs], undefined, STOP).id).to.equal('aaaaaa');
        const e = (() => {
          try {
            pickRun([booting, kept, theirs, { ...kept, id: 'dddddd', file: data('dddddd') }], undefined, STOP);
          } catch (err) {
            return err as UsageError;
          }
          throw new Error('no error');
        })();
        expect(e.hint).to.equal('kept runs of yours: aaaaaa, dddddd');
      });
    });

    it('none live: a UsageError that says how to start one', () => {
      expect(() => pickRun([], undefined)).to.throw(UsageError, 'no run to pick');
    });
  });
});

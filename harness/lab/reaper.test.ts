import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempEnvDir } from '../common/temp-env-dir';
import { Deadline } from '../common/deadline';
import { SetupError } from '../common/errors';
import { fateOf, orphanBuildContainer, reap, RULE_CHAINS, RunOwners } from './reaper';
import { processStartTime } from '../common/state-root';

describe('reaper: build containers no run label vouches for', () => {
  it('is an orphan when the build.sh its name carries is gone, or the pid is now another program', () => {
    // Above the kernel's largest pid_max (2^22): never a live process.
    expect(orphanBuildContainer('ltsp-lab-build-initramfs-99999999')).to.equal(true);
    expect(orphanBuildContainer(`ltsp-lab-build-root-export-${process.pid}`)).to.equal(true);
  });

  it('is not an orphan while that build.sh runs', async () => {
    const build = spawn('sh', ['-c', 'sleep 5', 'build.sh'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => build.once('spawn', resolve));
      expect(orphanBuildContainer(`ltsp-lab-build-initramfs-${build.pid}`)).to.equal(false);
    } finally {
      build.kill('SIGKILL');
    }
  });

  it('never takes a container build.sh did not name (a live docker build step inherits the artefact label)', () => {
    for (const name of ['eager_turing', 'ltsp-lab-abc123-server', 'ltsp-lab-build-initramfs']) expect(orphanBuildContainer(name), name).to.equal(false);
  });
});

describe('reaper: only what the lab made, judged by its owner', () => {
  const DEAD = '99999999:1';
  const me = `${process.pid}:${processStartTime(process.pid)}`;
  const stateDir = useTempEnvDir('LTSP_LAB_STATE', 'lab-reap-');
  let root = '';
  beforeEach(() => (root = stateDir()));

  it('refuses a state root of user data before it removes anything, and the data stays whole', async () => {
    mkdirSync(join(root, 'photos', '2024'), { recursive: true });
    writeFileSync(join(root, 'photos', '2024', 'img.txt'), 'img');
    mkdirSync(join(root, 'backup'));
    writeFileSync(join(root, 'backup', 'db.sql'), 'db');
    writeFileSync(join(root, 'config'), 'x');
    mkdirSync(join(root, 'abc123')); // a name that fits a run id, without the lab's marker
    const before = readdirSync(root, { recursive: true }).sort();
    const e = await reap({ deadline: Deadline.after(30_000, 'reap'), all: true }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(readdirSync(root, { recursive: true }).sort()).to.deep.equal(before);
    expect(e).to.be.instanceOf(SetupError);
    expect((e as SetupError).message).to.match(/holds what the lab did not make \(abc123, backup, config, photos\)/);
  });

  it('judges a tap or rule by its network\'s owner first, then its containers\', then a state folder\'s', () => {
    const owners = new RunOwners().note('aaaaaa', DEAD, 'state folder').note('aaaaaa', me, 'network').note('aaaaaa', DEAD, 'container');
    expect(owners.owner('aaaaaa')).to.equal(me);
    expect(new RunOwners().note('bbbbbb', DEAD, 'state folder').note('bbbbbb', me, 'container').owner('bbbbbb')).to.equal(me);
  });

  it('a run no network, container or state folder here vouches for is left alone; a known dead one is reaped', () => {
    // Another state root's live run: its taps are judged by its network's label, not by this root.
    const owners = new RunOwners().note('livnet', me, 'network').note('deadnt', DEAD, 'network').note('deadst', DEAD, 'state folder');
    expect(fateOf('livnet', owners.owner('livnet'), {})).to.equal('live');
    expect(fateOf('deadnt', owners.owner('deadnt'), {})).to.equal('reap');
    expect(fateOf('deadst', owners.owner('deadst'), {})).to.equal('reap');
    expect(fateOf('nowhere', owners.owner('nowhere'), {})).to.equal('unknown');
    expect(fateOf('nowhere', undefined, { all: true })).to.equal('reap');
    expect(fateOf('livnet', me, { all: true, except: 'livnet' })).to.equal('own');
  });

  it('the rule chains it looks in start with DOCKER-USER', () => {
    expect(RULE_CHAINS).to.include('DOCKER-USER');
  });
});

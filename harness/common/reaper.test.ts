import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { orphanBuildContainer } from './reaper';

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

import { expect } from 'chai';
import { buildStepOutcomes, unexpectedOutcomes } from './build-steps';

describe('build step outcomes (vm-images/build.sh progress)', () => {
  it('a warm build: every step cached', () => {
    const lines = [
      '[ltsp-lab build    3s] base: cached ltsp-lab/base:917129ae13e92533',
      '[ltsp-lab build    3s] server: cached ltsp-lab/server:e5ff81946c594b64',
      '[ltsp-lab build    3s] root: cached /root/.cache/ltsp-lab/root-9dbd0fce395e9c98',
      '[ltsp-lab build    3s] initramfs: cached /root/.cache/ltsp-lab/initramfs-2867c38bf1982fad',
      '[ltsp-lab build    3s] manifest: done',
    ];
    expect(buildStepOutcomes(lines)).to.deep.equal({ base: 'cached', server: 'cached', root: 'cached', initramfs: 'cached' });
  });

  it('a module-only rebuild: the initramfs step did work', () => {
    const lines = [
      '[ltsp-lab build    2s] base: cached ltsp-lab/base:917129ae13e92533',
      '[ltsp-lab build    2s] server: cached ltsp-lab/server:e5ff81946c594b64',
      '[ltsp-lab build    2s] root: cached /root/.cache/ltsp-lab/root-9dbd0fce395e9c98',
      '[ltsp-lab build    2s] initramfs: docker run --rm --network none ...',
      '[ltsp-lab build    7s] initramfs: ... dracut: *** Including module: ltsp-union ***',
      'some unrelated line',
    ];
    const got = buildStepOutcomes(lines);
    expect(got).to.deep.equal({ base: 'cached', server: 'cached', root: 'cached', initramfs: 'built' });
    expect(unexpectedOutcomes(got, { base: 'cached', server: 'cached', root: 'cached', initramfs: 'built' })).to.deep.equal([]);
    expect(unexpectedOutcomes(got, { base: 'cached', server: 'cached', root: 'cached', initramfs: 'cached' })).to.deep.equal(['initramfs: built (expected cached)']);
  });

  it('a step that printed nothing is absent', () => {
    expect(buildStepOutcomes(['[ltsp-lab build    0s] base: cached x'])).to.deep.equal({ base: 'cached', server: 'absent', root: 'absent', initramfs: 'absent' });
  });
});

import { expect } from 'chai';
import { SetupError } from '../common/errors';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import { buildArgs, buildTakesKinds, clientImages, manifestClients, servedImages, specImages, VM_IMAGES_DIR, type ImageManifest } from './image-set';
import { clientSpec } from '../client/client-spec';

/** The SetupError that `f` throws (the test fails if it throws none). */
function thrown(f: () => unknown): SetupError {
  try {
    f();
  } catch (x) {
    return x as SetupError;
  }
  return expect.fail('no error');
}

/** A manifest as vm-images/build.sh prints it; `clients` as given (absent: an older build's). */
function manifest(clients?: ImageManifest['clients']): ImageManifest {
  return {
    cache: '/c',
    baseImage: 'ltsp-lab/base:b',
    serverImage: 'ltsp-lab/server:s',
    rootImageTag: 'ltsp-lab/client-root:r',
    rootImage: '/c/root-r/root.ext4',
    rootSha256: 'ab'.repeat(32),
    kernel: '/c/root-r/vmlinuz',
    initrd: '/c/initramfs-i/initrd.img',
    kernelVersion: '6.1.0-50-amd64',
    keys: { base: 'b' },
    ...(clients ? { clients } : {}),
  };
}

const LTSP = { kernel: '/c/kernel-k/vmlinuz', initrd: '/c/initramfs-l/initrd.img', kernelVersion: '6.1.158-ltsp-lab' };
const STOCK = { kernel: '/c/root-r/vmlinuz', initrd: '/c/initramfs-i/initrd.img', kernelVersion: '6.1.0-50-amd64' };

describe('the image manifest: which client kinds it has', () => {
  it('reads `clients` (the contract with build.sh): each kind its own kernel, initramfs and kernel version', () => {
    const m = manifest({ ltsp: LTSP, stock: STOCK });
    expect(manifestClients(m)).to.deep.equal({ ltsp: LTSP, stock: STOCK });
    expect(clientImages(m, 'ltsp')).to.deep.equal(LTSP);
    expect(clientImages(m, 'stock')).to.deep.equal(STOCK);
  });

  it('an older manifest (no `clients`) is an image set of the stock client alone, from its top-level files', () => {
    const m = manifest();
    expect(manifestClients(m)).to.deep.equal({ stock: STOCK });
    expect(clientImages(m, 'stock')).to.deep.equal(STOCK);
  });

  it('no ltsp client in the image set: a set-up problem (exit 3) that says so and how to build it', () => {
    for (const m of [manifest(), manifest({ stock: STOCK })]) {
      const e = thrown(() => clientImages(m, 'ltsp'));
      expect(e).to.be.instanceOf(SetupError);
      expect(e.exitCode).to.equal(3);
      expect(e.message).to.equal('the image set has no ltsp client: the manifest /c/manifest.json lists only stock');
      expect(e.hint).to.match(/^vm-images\/build\.sh builds it .*run \.\/lab build.*--client stock$/);
    }
  });

  it('a kind the harness does not know is left out, not served', () => {
    const m = manifest({ stock: STOCK, nfs: LTSP } as ImageManifest['clients']);
    expect(Object.keys(manifestClients(m))).to.deep.equal(['stock']);
  });
});

describe('what a lab serves from an image set', () => {
  it('every kind at its own path, and the default kind\'s files at the TFTP root too', () => {
    const m = manifest({ ltsp: LTSP, stock: STOCK });
    expect(servedImages(m, 'ltsp')).to.deep.equal({
      serverImage: 'ltsp-lab/server:s',
      rootImage: '/c/root-r/root.ext4',
      kernel: LTSP.kernel,
      initrd: LTSP.initrd,
      clients: { ltsp: { kernel: LTSP.kernel, initrd: LTSP.initrd }, stock: { kernel: STOCK.kernel, initrd: STOCK.initrd } },
    });
    expect(servedImages(m, 'stock').kernel, 'a lab of stock clients').to.equal(STOCK.kernel);
  });

  it('a kernel given (Lab.withImages) is the default kind\'s, served both at the root and at its kind\'s path', () => {
    const s = servedImages(manifest({ ltsp: LTSP, stock: STOCK }), 'ltsp', { kernel: '/x/vmlinuz' });
    expect([s.kernel, s.clients.ltsp?.kernel, s.clients.stock?.kernel]).to.deep.equal(['/x/vmlinuz', '/x/vmlinuz', STOCK.kernel]);
  });

  it('an older image set serves stock clients, and refuses a lab whose default kind is ltsp', () => {
    expect(servedImages(manifest(), 'stock').clients).to.deep.equal({ stock: { kernel: STOCK.kernel, initrd: STOCK.initrd } });
    expect(() => servedImages(manifest(), 'ltsp')).to.throw(SetupError, 'the image set has no ltsp client');
  });
});

describe('the ltsp23 stack in the image set', () => {
  const LTSP23 = { imageName: 'x86_64', image: '/c/ltsp23-l/x86_64.img', kernel: '/c/ltsp23-l/vmlinuz', initrd: '/c/ltsp23-l/initrd.img', ipxe: '/c/ltsp23-l/ltsp.ipxe', kernelVersion: '6.1.0-50-amd64' };

  it('a spec of the ltsp23 stack gets LTSP\'s files; a k12 spec its kind\'s, whatever the set also has', () => {
    const m = { ...manifest({ ltsp: LTSP, stock: STOCK }), ltsp23: LTSP23 };
    expect(specImages(m, clientSpec({ stack: 'ltsp23' }))).to.deep.equal(LTSP23);
    expect(specImages(m, clientSpec({ kind: 'ltsp' }))).to.deep.equal(LTSP);
    // Served beside the k12 files only when the set has it: the server exports the squashfs by its name.
    expect(servedImages(m, 'stock').ltsp23).to.deep.equal({ imageName: 'x86_64', image: LTSP23.image, kernel: LTSP23.kernel, initrd: LTSP23.initrd });
    expect(servedImages(manifest({ stock: STOCK }), 'stock')).to.not.have.property('ltsp23');
  });

  it('a set built without it (no --stack ltsp23): a set-up problem (exit 3) saying how a lab builds it', () => {
    const e = thrown(() => specImages(manifest({ stock: STOCK }), clientSpec({ stack: 'ltsp23' })));
    expect(e).to.be.instanceOf(SetupError);
    expect(e.exitCode).to.equal(3);
    expect(e.message).to.equal('the image set has no ltsp23 stack: the manifest /c/manifest.json has no "ltsp23"');
    expect(e.hint).to.include('--stack ltsp23');
  });

  it('build.sh is asked for the stack only when it is not the default one', () => {
    expect(buildArgs({ stack: 'ltsp23' })).to.deep.equal(['--stack', 'ltsp23']);
    expect(buildArgs({ stack: 'k12' })).to.deep.equal([]);
    expect(buildArgs({})).to.deep.equal([]);
  });

  it('build.sh is asked for some client kinds only when not all are wanted, in its order', () => {
    expect(buildArgs({ kinds: ['ltsp'] })).to.deep.equal(['--kinds', 'ltsp']);
    expect(buildArgs({ kinds: ['stock'] })).to.deep.equal(['--kinds', 'stock']);
    expect(buildArgs({ kinds: ['stock', 'ltsp'] })).to.deep.equal([]);
    expect(buildArgs({ stack: 'ltsp23', kinds: ['ltsp'] })).to.deep.equal(['--stack', 'ltsp23', '--kinds', 'ltsp']);
  });

  it("--kinds goes only to a build.sh that takes it: an older revision's builds every kind", () => {
    expect(buildTakesKinds(join(VM_IMAGES_DIR, 'build.sh')), "this revision's build.sh").to.equal(true);
    expect(buildTakesKinds(join(repoRoot(), 'lab')), 'a script without the option').to.equal(false);
    expect(buildTakesKinds('/nonexistent/build.sh')).to.equal(false);
  });
});

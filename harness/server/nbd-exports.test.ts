import { expect } from 'chai';
import { join } from 'node:path';
import { VM_IMAGES_DIR } from '../images/image-set';
import { nbdConfigExports, serverExports } from './nbd-exports';

describe('the NBD exports, from the server image recipe', () => {
  it('reads the sections of an nbd-server(5) configuration, not [generic], with its includedir', () => {
    const text = '# comment [not]\n[generic]\n\tport = 10809\n\tincludedir = /etc/nbd-server/conf.d\n[root]\n\texportname = /srv/root.ext4\n[ other ] ; a comment\n';
    expect(nbdConfigExports(text)).to.deep.equal({ exports: ['root', 'other'], includedir: '/etc/nbd-server/conf.d' });
  });

  it('the lab server offers root, and a conf.d file given to the container adds its exports (only *.conf)', () => {
    const rootfs = join(VM_IMAGES_DIR, 'server', 'rootfs');
    expect(serverExports(rootfs)).to.deep.equal(['root']);
    const extra = [
      { target: '/etc/nbd-server/conf.d/root-cow.conf', content: '[root-cow]\n\tcopyonwrite = true\n' },
      { target: '/etc/nbd-server/conf.d/notes.txt', content: '[not-read]\n' },
    ];
    expect(serverExports(rootfs, extra)).to.deep.equal(['root', 'root-cow']);
  });
});

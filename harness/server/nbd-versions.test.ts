import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLIENT_DIMENSIONS } from '../client/client-spec';
import { UsageError } from '../common/errors';
import { VM_IMAGES_DIR } from '../images/image-set';
import { NBD_OLDSTYLE_PORT, NBD_SERVER_DIMENSION, nbdServerPort, parseNbdServer } from './nbd-server-version';

/** A variable of vm-images/nbd/versions.sh, as build.sh reads it. */
function shellFact(name: string): string {
  return execFileSync('bash', ['-c', `. "$1"; printf '%s' "\${${name}}"`, 'versions', join(VM_IMAGES_DIR, 'nbd', 'versions.sh')]).toString();
}

describe('nbd versions: the lab and vm-images/build.sh know the same ones', () => {
  it('the client dimension and the server versions match vm-images/nbd/versions.sh, defaults the stock one', () => {
    expect(CLIENT_DIMENSIONS.nbdClient.values.join(' ')).to.equal(shellFact('NBD_VERSIONS'));
    expect(NBD_SERVER_DIMENSION.values.join(' ')).to.equal(shellFact('NBD_SERVER_VERSIONS'));
    expect(CLIENT_DIMENSIONS.nbdClient.default).to.equal(shellFact('NBD_STOCK'));
    expect(NBD_SERVER_DIMENSION.default).to.equal(shellFact('NBD_STOCK'));
    expect(String(NBD_OLDSTYLE_PORT)).to.equal(shellFact('NBD_OLDSTYLE_PORT'));
  });

  it('--nbd-server: a bad value is a usage error naming the known ones; oldstyle listens on its own port', () => {
    expect(parseNbdServer('oldstyle')).to.equal('oldstyle');
    expect(() => parseNbdServer('3.9')).to.throw(UsageError, "--nbd-server '3.9' is not one of 3.21, 3.24, 3.26, 3.27, oldstyle");
    expect(nbdServerPort('oldstyle')).to.equal(2000);
    expect(nbdServerPort('3.21')).to.equal(10809);
  });
});

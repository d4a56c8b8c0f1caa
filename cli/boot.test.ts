import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempEnvDir } from '../harness/common/temp-env-dir';
import { Lab, SetupError, UsageError } from '../harness/index';
import { parseBootArgs } from './args';
import { checkBootUpFront } from './boot';

/** What checkBootUpFront throws for these arguments, or undefined. */
function upFront(argv: string[], lab = new Lab()): unknown {
  try {
    checkBootUpFront(parseBootArgs(argv), lab);
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('./lab boot: what is checked before anything starts', () => {
  let dir: string;
  const baselines = useTempEnvDir('LTSP_LAB_BASELINES', 'ltsp-boot-checks-');
  beforeEach(() => (dir = baselines()));

  it('--compare with a damaged baseline: a set-up problem (exit 3) naming the file and the way out', () => {
    writeFileSync(join(dir, 'tcg-2cpu.json'), '{ "schemaVersion": 2,');
    const e = upFront(['--compare']);
    expect(e).to.be.instanceOf(SetupError);
    expect((e as SetupError).message).to.match(/the baseline .*tcg-2cpu\.json is not JSON/);
    expect((e as SetupError).hint).to.equal('record it again: ./lab baseline --update');
    // Without the gate the baseline is not read: not a reason to refuse the boot.
    expect(upFront([])).to.equal(undefined);
  });

  it('--compare with the baselines folder not a folder: a set-up problem; with none at all: fine (the gate says inconclusive)', () => {
    writeFileSync(join(dir, 'file'), '');
    process.env.LTSP_LAB_BASELINES = join(dir, 'file');
    expect(upFront(['--compare'])).to.be.instanceOf(SetupError).and.to.have.property('message').that.matches(/cannot read the baselines folder .*ENOTDIR/);
    process.env.LTSP_LAB_BASELINES = join(dir, 'none');
    expect(upFront(['--compare'])).to.equal(undefined);
  });

  it('--export NAME the server will not offer: a usage error listing the ones it has; --keep boots it all the same', () => {
    const e = upFront(['--export', 'nosuch']);
    expect(e).to.be.instanceOf(UsageError);
    expect((e as UsageError).message).to.equal("the server has no NBD export 'nosuch'");
    expect((e as UsageError).hint).to.equal('it has: root');
    expect(upFront(['--export', 'nosuch', '--keep'])).to.equal(undefined);
    expect(upFront(['--export', 'root'])).to.equal(undefined);
  });

  it('an export a server file adds (conf.d) is one the server offers', () => {
    const lab = new Lab().withServerFiles([{ target: '/etc/nbd-server/conf.d/extra.conf', content: '[root-cow]\n\texportname = /srv/ltsp/root.ext4\n' }]);
    expect(upFront(['--export', 'root-cow'], lab)).to.equal(undefined);
  });
});

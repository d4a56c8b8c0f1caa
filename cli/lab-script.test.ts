import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { labScript } from '../harness/index';

/**
 * ensure_packages of ./lab, with apt-get replaced by a shell function that records
 * its calls. dpkg-query is the real one: it exits 1 for a package dpkg never knew,
 * which is exactly the fresh-machine case.
 */
function ensurePackages(packages: string[]): { code: number; stdout: string; stderr: string } {
  const script = [
    'set -euo pipefail',
    `source "${labScript()}"`,
    `DEBIAN_PACKAGES=(${packages.map((p) => `'${p}'`).join(' ')})`,
    // ./lab sends apt-get's output to /dev/null: the record goes to stderr.
    'apt-get() { echo "apt-get $*" >&2; }',
    'ensure_packages',
    'echo "ensure_packages returned"',
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('./lab set-up: ensure_packages', function () {
  this.timeout(30_000);

  it('installs a package dpkg has never heard of, instead of stopping silently', () => {
    const r = ensurePackages(['bash', 'ltsp-lab-no-such-package']);
    expect(r.stderr).to.include('lab: installing Debian packages: ltsp-lab-no-such-package');
    expect(r.stderr).to.match(/^apt-get install .*ltsp-lab-no-such-package$/m);
    expect(r.stderr).to.not.match(/^apt-get install .* bash\b/m);
    expect(r.stdout).to.equal('ensure_packages returned\n');
    expect(r.code).to.equal(0);
  });

  it('calls no apt-get when everything is installed', () => {
    const r = ensurePackages(['bash', 'coreutils']);
    expect(r.stdout).to.equal('ensure_packages returned\n');
    expect(r.stderr).to.not.include('apt-get');
    expect(r.code).to.equal(0);
  });
});

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labScript, repoRoot } from '../harness/index';

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

/**
 * ensure_docker of ./lab, with `docker` a shell function that answers once a file exists
 * and `dockerd` a script on PATH (the log and pid file in a temp folder).
 */
describe('./lab set-up: ensure_docker', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-dockerd-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function ensureDocker(dockerd: string, before = ''): { code: number; stderr: string; ms: number } {
    writeFileSync(join(dir, 'dockerd'), `#!/bin/bash\n${dockerd}\n`, { mode: 0o755 });
    const script = [
      'set -euo pipefail',
      `source "${labScript()}"`,
      `export PATH="${dir}:$PATH" DOCKERD_LOG="${dir}/dockerd.log" DOCKERD_PIDFILE="${dir}/docker.pid" DOCKERD_WAIT_S=4`,
      `docker() { [ -e "${dir}/up" ]; }`,
      before,
      'ensure_docker',
    ].join('\n');
    const t0 = Date.now();
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
    return { code: r.status ?? -1, stderr: r.stderr, ms: Date.now() - t0 };
  }

  it('a dockerd that exits: a set-up error at once, with its own words, not a full wait', () => {
    const r = ensureDocker(`echo 'time="t" level=fatal msg="failed to start daemon: pid file found, ensure docker is not running"'; exit 1`);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.match(/set-up problem: dockerd exited after [12] s without answering: failed to start daemon: pid file found, ensure docker is not running \(log: /);
    expect(r.ms).to.be.below(3500);
  });

  it('a dockerd that runs but never answers: the bounded wait ends saying what it was doing, and that it runs still', () => {
    const r = ensureDocker(`echo 'time="t" level=info msg="Loading containers: start."'; exec sleep 20`);
    const pid = /it runs still \(pid (\d+)\)/.exec(r.stderr)?.[1];
    if (pid) process.kill(Number(pid), 'SIGKILL');
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.match(/set-up problem: dockerd did not answer within 4 s; it runs still \(pid \d+\), its last word: Loading containers: start\. \(log: /);
  });

  it('a dockerd already starting (its pid file names it): waits for it instead of starting a second', () => {
    const r = ensureDocker('echo "a second dockerd started" >&2; exit 1', [
      // A process whose name is dockerd (a copy of sleep), its pid in the pid file.
      `mkdir -p "${dir}/bin" && cp /bin/sleep "${dir}/bin/dockerd"`,
      `"${dir}/bin/dockerd" 3 & echo $! > "${dir}/docker.pid"`,
      `( sleep 1.5; touch "${dir}/up" ) &`,
    ].join('\n'));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/lab: dockerd \d+ is running but not answering yet: waiting for it/);
    expect(r.stderr).to.match(/lab: dockerd is up after [23] s/);
    expect(r.stderr).to.not.include('a second dockerd started');
  });

  it('a stale pid file (no dockerd behind it) is removed, and dockerd started', () => {
    const r = ensureDocker(`touch "${'$'}{DOCKERD_LOG%/*}/up"; exec sleep 3`, `echo $$ > "${dir}/docker.pid"`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/lab: removing \S+docker\.pid: pid \d+ is no running dockerd/);
    expect(r.stderr).to.match(/lab: starting dockerd/);
  });
});

describe('npm run test:e2e', function () {
  it("loads the scenarios' root hooks as ./lab test does (signal teardown, the run report)", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const hooks = '--require scenarios/support/hooks.ts';
    expect(readFileSync(labScript(), 'utf8'), './lab test').to.include(hooks);
    expect(pkg.scripts['test:e2e']).to.include(hooks);
  });
});

import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';

/**
 * The server image's sysvinit script, run on the host against a pidfile of our own.
 * The entrypoint treats `status` 1 (dead, pidfile left behind) as a crash and ends the
 * server, so a stop or restart racing a status check must never read as 1.
 *
 * The race is made deterministic with a `cat` on PATH that, when status reads the
 * pidfile, hands back its content and then does what a stop (or a restart) does
 * next: removes the pidfile (or writes the new server's pid into it).
 */
const SCRIPT = join(repoRoot(), 'vm-images/server/rootfs/etc/init.d/nbd-server');
/** Above any pid_max: /proc has no such process. */
const DEAD_PID = '999999999';

describe('nbd-server init script: status under a concurrent stop or restart', function () {
  this.timeout(20_000);
  let dir = '';
  let pidfile = '';
  let live: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-init-'));
    pidfile = join(dir, 'nbd-server.pid');
    // A process whose comm is "nbd-server": a copy of sleep under that name.
    copyFileSync('/bin/sleep', join(dir, 'nbd-server'));
    chmodSync(join(dir, 'nbd-server'), 0o755);
    live = undefined;
  });

  afterEach(() => {
    live?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `nbd-server status`; when `race` is given, the first read of the pidfile triggers it. */
  function status(race?: 'stop' | { restartTo: string }): { code: number; out: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, NBD_PIDFILE: pidfile, NBD_SYSCONFIG: join(dir, 'no-sysconfig') };
    if (race !== undefined) {
      const shims = join(dir, 'bin');
      const then = race === 'stop' ? `rm -f "$1"` : `echo ${race.restartTo} >"$1"`;
      mkdirSync(shims, { recursive: true });
      writeFileSync(
        join(shims, 'cat'),
        [
          '#!/bin/sh',
          `if [ "$1" = "${pidfile}" ] && [ ! -e "${dir}/raced" ]; then`,
          `  : >"${dir}/raced"`,
          '  /bin/cat "$1"',
          `  ${then}`,
          '  exit 0',
          'fi',
          'exec /bin/cat "$@"',
        ].join('\n') + '\n',
        { mode: 0o755 },
      );
      env.PATH = `${shims}:${process.env.PATH ?? ''}`;
    }
    const r = spawnSync('sh', [SCRIPT, 'status'], { env, encoding: 'utf8', timeout: 10_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
  }

  function startLive(): string {
    live = spawn(join(dir, 'nbd-server'), ['30'], { stdio: 'ignore' });
    expect(live.pid, 'the stand-in nbd-server did not start').to.be.a('number');
    return String(live.pid);
  }

  it('says running (0) for a live nbd-server', () => {
    writeFileSync(pidfile, `${startLive()}\n`);
    const r = status();
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/is running/);
  });

  it('says dead with a stale pidfile (1) when the pidfile outlives its process: a crash', () => {
    writeFileSync(pidfile, `${DEAD_PID}\n`);
    const r = status();
    expect(r.code, r.out).to.equal(1);
    expect(r.out).to.match(/dead but pid file exists/);
  });

  it('says stopped (3) when a stop removes the pidfile and ends the server between its reads', () => {
    writeFileSync(pidfile, `${DEAD_PID}\n`);
    const r = status('stop');
    expect(r.code, `status raced by a stop said: ${r.out}`).to.equal(3);
    expect(r.out).to.match(/is stopped/);
  });

  it('says running (0) when a restart replaces the server between its reads', () => {
    writeFileSync(pidfile, `${DEAD_PID}\n`);
    const r = status({ restartTo: startLive() });
    expect(r.code, `status raced by a restart said: ${r.out}`).to.equal(0);
    expect(r.out).to.match(/is running/);
  });

  it('says stopped (3) without a pidfile', () => {
    const r = status();
    expect(r.code, r.out).to.equal(3);
  });
});

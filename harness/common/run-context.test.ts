import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTempEnvDir } from './temp-env-dir';
import { LAB_LABEL, OWNER_LABEL, RUN_LABEL, RUN_MARKER, RunContext, ownerAlive, processStartTime, stateRoot } from './run-context';
import { runMarkerText } from './state-root';
import { SetupError } from './errors';

/** Linux's IFNAMSIZ is 16 including the NUL (netdevice(7)). */
const IFNAMSIZ = 15;

describe('RunContext', () => {
  it('makes 6-character lower-case base-36 ids', () => {
    const ids = Array.from({ length: 200 }, () => new RunContext().id);
    for (const id of ids) expect(id).to.match(/^[a-z0-9]{6}$/);
    expect(new Set(ids).size).to.be.greaterThan(190);
  });

  it('takes a given id, and refuses one that would not fit the names', () => {
    expect(new RunContext('abc123').id).to.equal('abc123');
    for (const id of ['ABC123', 'abc12', 'abc1234', 'abc-12', '']) expect(() => new RunContext(id), id).to.throw(RangeError, /bad run id/);
  });

  it('names interfaces within the 15-character limit, with the run id in them', () => {
    const run = new RunContext();
    for (const name of [run.bridgeName, run.tapName(1), run.tapName(8), run.tapName(99)]) {
      expect(name.length, name).to.be.at.most(IFNAMSIZ);
      expect(name).to.include(run.id);
      expect(name).to.match(/^[a-z0-9]+$/);
    }
    expect(new RunContext('abc123').bridgeName).to.equal('ltlabc123');
    expect(new RunContext('abc123').tapName(99)).to.equal('lttabc123c99');
  });

  it('names the docker network and server container with the run id', () => {
    const run = new RunContext('abc123');
    expect(run.networkName).to.equal('ltsp-lab-abc123');
    expect(run.serverName).to.equal('ltsp-lab-abc123-server');
  });

  it('labels resources with the lab, the run and the owner', () => {
    const run = new RunContext('abc123');
    expect(run.owner).to.match(new RegExp(`^${process.pid}:\\d+$`));
    expect(run.labels()).to.deep.equal({ [LAB_LABEL]: 'true', [RUN_LABEL]: 'abc123', [OWNER_LABEL]: run.owner });
    expect(run.labels({ 'ltsp-lab.role': 'server' })).to.deep.equal({
      'ltsp-lab': 'true',
      'ltsp-lab.run': 'abc123',
      'ltsp-lab.owner': run.owner,
      'ltsp-lab.role': 'server',
    });
  });
});

describe('ownerAlive', () => {
  it('is true for this process', () => {
    expect(ownerAlive(new RunContext().owner)).to.equal(true);
  });

  it('is false for a pid that does not exist', () => {
    // Above the kernel's largest pid_max (2^22), so never a live process.
    expect(ownerAlive('99999999:12345')).to.equal(false);
  });

  it('is false for a live pid with another start time (the pid was reused)', () => {
    const start = processStartTime(process.pid);
    expect(start).to.match(/^\d+$/);
    expect(ownerAlive(`${process.pid}:${Number(start) + 1}`)).to.equal(false);
    expect(ownerAlive(`${process.pid}:`)).to.equal(false);
    expect(ownerAlive(`${process.pid}`)).to.equal(false);
  });

  it('is false for a live pid recorded without a start time', () => {
    expect(ownerAlive(`${process.pid}:0`)).to.equal(false);
  });

  it('reads the start time of a process whose name has spaces and parentheses', async () => {
    // /proc/PID/stat field 2 is "(comm)", and comm is the name the binary was run as.
    const dir = mkdtempSync(join(tmpdir(), 'lab-comm-'));
    const weird = join(dir, 'a b) (c');
    symlinkSync(process.execPath, weird);
    const child = spawn(weird, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).to.include('(a b) (c)');
      const start = processStartTime(child.pid as number);
      expect(start).to.match(/^\d+$/);
      // Ticks since boot: a child started after this process, and long after boot.
      expect(Number(start)).to.be.at.least(Number(processStartTime(process.pid))).and.above(0);
      expect(ownerAlive(`${child.pid}:${start}`)).to.equal(true);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is false for garbage', () => {
    for (const owner of ['', ':', '0:0', '-1:5', 'abc:1', '1.5:1']) expect(ownerAlive(owner), owner).to.equal(false);
  });
});

describe('RunContext state folder', () => {
  const stateDir = useTempEnvDir('LTSP_LAB_STATE', 'lab-state-');
  let root = '';
  beforeEach(() => (root = stateDir()));

  it('lives under LTSP_LAB_STATE', () => {
    expect(stateRoot()).to.equal(root);
    expect(new RunContext('abc123').stateDir).to.equal(join(root, 'abc123'));
  });

  it('register() records the owner; unregister() removes the folder', () => {
    const run = new RunContext();
    run.register();
    const owner = readFileSync(join(root, run.id, 'owner'), 'utf8');
    expect(owner).to.equal(`${run.owner}\n`);
    expect(ownerAlive(owner.trim())).to.equal(true);
    run.unregister();
    expect(existsSync(run.stateDir)).to.equal(false);
    expect(existsSync(root)).to.equal(true);
  });

  it('register() never shows the folder without its owner: it is renamed into place, owner and all', () => {
    const run = new RunContext();
    // A reaper listing the state root while the owner is written must not find the run's folder.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('node:fs') as { writeFileSync: (...a: unknown[]) => void };
    const real = fs.writeFileSync;
    const visible: boolean[] = [];
    fs.writeFileSync = (...a: unknown[]): void => {
      visible.push(existsSync(run.stateDir));
      real(...a);
    };
    try {
      run.register();
    } finally {
      fs.writeFileSync = real;
    }
    // The write probe of the root check, the marker, the owner: none with the folder in place.
    expect(visible).to.have.length.above(1).and.not.include(true);
    expect(readFileSync(join(run.stateDir, 'owner'), 'utf8')).to.equal(`${run.owner}\n`);
    expect(readdirSync(root)).to.deep.equal([run.id]);
  });

  it('register() twice keeps the one folder, with what is in it, and the owner', () => {
    const run = new RunContext();
    run.register();
    writeFileSync(join(run.stateDir, 'qemu.pid'), '1\n');
    run.register();
    expect(readdirSync(root)).to.deep.equal([run.id]);
    expect(readdirSync(run.stateDir).sort()).to.deep.equal([RUN_MARKER, 'owner', 'qemu.pid']);
    expect(readFileSync(join(run.stateDir, 'owner'), 'utf8')).to.equal(`${run.owner}\n`);
  });

  it('register() marks the folder as the lab\'s, naming the run', () => {
    const run = new RunContext();
    run.register();
    expect(readFileSync(join(run.stateDir, RUN_MARKER), 'utf8')).to.equal(runMarkerText(run.id));
  });

  it('register() refuses a state root that holds what the lab did not make, and writes nothing into it', () => {
    writeFileSync(join(root, 'config'), 'mine\n');
    expect(() => new RunContext('abc123').register()).to.throw(SetupError, /holds what the lab did not make \(config\)/);
    expect(readdirSync(root)).to.deep.equal(['config']);
  });

  it('register() under /proc is a SetupError at once, not an endless mkdir deaf to SIGTERM', () => {
    // In a child: the old recursive mkdir spins in one synchronous call that no mocha
    // timeout can interrupt. The child is killed at 10 s.
    const code = `process.env.LTSP_LAB_STATE = '/proc/ltsp-lab-state'; const { RunContext } = require(${JSON.stringify(join(__dirname, 'run-context'))}); try { new RunContext().register(); console.log('registered'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const t0 = Date.now();
    const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code], { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
    expect(child.signal, `the child still ran after ${Date.now() - t0} ms`).to.equal(null);
    expect(child.stdout).to.match(/^SetupError: the state folder \(LTSP_LAB_STATE\) \/proc\/ltsp-lab-state cannot be used: it is under \/proc/);
  });

  it('unregister() is safe when nothing was registered', () => {
    expect(() => new RunContext().unregister()).to.not.throw();
  });
});

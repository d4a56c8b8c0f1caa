import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LaunchError } from './errors';
import { ProcessGroup } from './process-group';

/** Alive and not a zombie: a killed grandchild may wait a while for init to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function firstLine(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      stream.off('data', onData);
      resolve(buf.slice(0, nl));
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended before a line; got ${JSON.stringify(buf)}`)));
  });
}

describe('ProcessGroup', function () {
  this.timeout(2000);
  const started: ProcessGroup[] = [];
  let dir: string;

  const spawn = async (command: string, args: string[], extra: { pidFile?: string } = {}): Promise<ProcessGroup> => {
    const g = await ProcessGroup.spawn({ command, args, name: `test ${command}`, ...extra });
    started.push(g);
    return g;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lab-pg-'));
  });

  afterEach(async () => {
    for (const g of started.splice(0)) g.signal('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('spawns the child as the leader of its own process group', async () => {
    const g = await spawn('sleep', ['30']);
    expect(g.pid).to.be.a('number');
    expect(g.name).to.equal('test sleep');
    expect(g.isRunning()).to.equal(true);
    const stat = readFileSync(`/proc/${g.pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(pgid).to.equal(g.pid);
    expect(await g.terminate(1000)).to.equal('sigterm');
    expect(g.isRunning()).to.equal(false);
    expect(await g.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });
  });

  it('reports exit status and keeps a bounded stderr tail', async () => {
    const g = await spawn('sh', ['-c', 'i=0; while [ $i -lt 300 ]; do echo "err $i" >&2; i=$((i+1)); done; printf "last" >&2; exit 3']);
    g.stdout.resume();
    expect(await g.exited).to.deep.equal({ code: 3, signal: null });
    const tail = g.stderrTail();
    expect(tail).to.have.length(40);
    expect(tail[38]).to.equal('err 299');
    expect(tail[39]).to.equal('last');
    expect(g.stderrTail(500).length).to.be.at.most(201);
    expect(await g.terminate()).to.equal('exited');
  });

  it('kills a grandchild together with the group', async () => {
    const g = await spawn('sh', ['-c', 'sleep 30 & echo $!; wait']);
    const grandchild = Number(await firstLine(g.stdout));
    expect(alive(grandchild)).to.equal(true);
    expect(await g.terminate(1000)).to.equal('sigterm');
    const t0 = Date.now();
    while (alive(grandchild) && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(alive(grandchild), `grandchild ${grandchild} survived`).to.equal(false);
  });

  it('falls back to SIGKILL when SIGTERM is trapped', async () => {
    const g = await spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']);
    expect(await firstLine(g.stdout)).to.equal('ready');
    const t0 = performance.now();
    expect(await g.terminate(200)).to.equal('sigkill');
    expect(performance.now() - t0).to.be.at.least(190);
    expect((await g.exited).signal).to.equal('SIGKILL');
  });

  it('shares one ladder between concurrent terminate calls', async () => {
    const g = await spawn('sleep', ['30']);
    const [a, b] = await Promise.all([g.terminate(1000), g.terminate(1000)]);
    expect(a).to.equal('sigterm');
    expect(b).to.equal('sigterm');
  });

  it('ignores signals to a group that is gone', async () => {
    const g = await spawn('true', []);
    await g.exited;
    g.signal('SIGKILL');
    expect(g.isRunning()).to.equal(false);
  });

  it('rejects with LaunchError naming the missing binary', async () => {
    const err = await ProcessGroup.spawn({ command: 'no-such-binary-lab', args: [], name: 'ghost' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LaunchError);
    const le = err as LaunchError;
    expect(le.message).to.contain('no-such-binary-lab').and.contain('missing');
    expect(le.process).to.equal('ghost');
    expect(le.code).to.equal('ENOENT');
  });

  it('writes the pid file and removes it on exit', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const g = await spawn('sleep', ['30'], { pidFile });
    expect(readFileSync(pidFile, 'utf8').trim()).to.equal(String(g.pid));
    await g.terminate(1000);
    expect(existsSync(pidFile)).to.equal(false);
  });

  it('pipes stdin when asked', async () => {
    const g = await ProcessGroup.spawn({ command: 'cat', args: [], name: 'cat', stdin: 'pipe' });
    started.push(g);
    const line = firstLine(g.stdout);
    expect(g.write('hello\n')).to.equal(true);
    g.closeInput();
    expect(await line).to.equal('hello');
    expect((await g.exited).code).to.equal(0);
  });

  it('has no stdin to write to unless asked for one', async () => {
    const g = await ProcessGroup.spawn({ command: 'sleep', args: ['30'], name: 'sleep' });
    started.push(g);
    expect(g.write('x')).to.equal(false);
  });

  it('refuses to spawn once its AbortSignal fired, saying why', async () => {
    const ac = new AbortController();
    ac.abort('the run is stopping on SIGTERM');
    const err = await ProcessGroup.spawn({ command: 'sleep', args: ['30'], name: 'late', signal: ac.signal }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LaunchError);
    expect((err as LaunchError).message).to.equal('late: not started: the run is stopping on SIGTERM');
  });

  it('tells the spawn watcher of each group that starts and ends, and lets it refuse a spawn', async () => {
    const seen: string[] = [];
    let refuse: string | undefined;
    const unwatch = ProcessGroup.watchSpawns({
      refuse: () => refuse,
      started: (g) => seen.push(`started ${g.name}`),
      ended: (g) => seen.push(`ended ${g.name}`),
    });
    try {
      const g = await ProcessGroup.spawn({ command: 'true', args: [], name: 'brief' });
      await g.exited;
      await new Promise((r) => setImmediate(r));
      expect(seen).to.deep.equal(['started brief', 'ended brief']);
      refuse = 'stopping';
      const err = await ProcessGroup.spawn({ command: 'true', args: [], name: 'refused' }).catch((e: unknown) => e);
      expect((err as LaunchError).message).to.equal('refused: not started: stopping');
    } finally {
      unwatch();
    }
  });
});

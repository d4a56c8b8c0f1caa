import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { ARTEFACT_LABEL, cacheDir, clientImages, Deadline, execCommand, hostBudgetMs, LAB_LABEL, OWNER_LABEL, ownerAlive, processStartTime, RUN_LABEL, RUN_MARKER, runMarkerText, sha256File, stateRoot, type ImageManifest, type StepKind } from '../harness/index';
import { startSuiteLab } from './support/suite-lab';
import { runLab, spawnLab, type BackgroundLab, type CliResult } from './support/lab-cli';
import { leftovers, NOTHING } from './support/leftovers';
import { until } from './support/outcome';
import { stopCoreLab } from './support/core-lab';
import { hostToItself } from './support/lanes';

/*
 * What a user's machine does to the lab, not what the other suites do: a build stopped
 * half-way, a damaged image cache, Docker dying under a boot, a full report disk. Each
 * case ends in a named error with its documented exit code, or heals, and leaves
 * nothing `./lab clean` does not remove. The real image cache is only read: each case
 * works on a scratch cache (LTSP_LAB_CACHE) made of hard links to it, and replaces a
 * link with a private copy before damaging a file.
 */

/** A deadline from the budget table, scaled for this host. */
const d = (kind: StepKind, what: string): Deadline => Deadline.after(hostBudgetMs(kind), what);

/** A scratch image cache: hard links to the real cache's artefact folders. */
class ScratchCache {
  readonly dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-cache-'));

  constructor(
    private readonly real: ImageManifest,
    private readonly realCache: string,
  ) {}

  get env(): NodeJS.ProcessEnv {
    return { LTSP_LAB_CACHE: this.dir };
  }

  /**
   * Links in the artefact folders: nothing here writes a file in place (rebuilds replace
   * whole folders). 'ltsp' is the LTSP client's kernel and initramfs: without them a build
   * in this cache compiles the kernel cold (4 min here), which no case here is about.
   */
  async link(...what: ('root' | 'initramfs' | 'ltsp')[]): Promise<this> {
    const ltsp = clientImages(this.real, 'ltsp');
    for (const w of what) {
      const srcs = w === 'root' ? [this.real.rootImage] : w === 'initramfs' ? [clientImages(this.real, 'stock').initrd] : [ltsp.kernel, ltsp.initrd];
      for (const src of srcs.map((f) => dirname(f))) {
        await execCommand('cp', ['-al', src, join(this.dir, basename(src))], { deadline: d('hostFiles', `link ${src}`) });
      }
    }
    return this;
  }

  /** Where a file of the real cache is in this one. */
  path(realFile: string): string {
    return join(this.dir, relative(this.realCache, realFile));
  }

  /** Replaces the hard link of `realFile` by a private copy, so damaging it leaves the real cache alone. */
  own(realFile: string): string {
    const mine = this.path(realFile);
    copyFileSync(realFile, `${mine}.own`);
    renameSync(`${mine}.own`, mine);
    return mine;
  }

  temps(): string[] {
    return readdirSync(this.dir).filter((n) => n.startsWith('.tmp-'));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Containers an image build ran (build.sh names them ltsp-lab-build-<artefact>-<pid>). */
async function buildContainers(): Promise<string[]> {
  const r = await execCommand('docker', ['ps', '-a', '--filter', 'name=ltsp-lab-build-', '--format', '{{.Names}}'], { deadline: d('hostCommand', 'list build containers') });
  return r.stdout.split('\n').filter(Boolean);
}

/** Processes whose environment points at this cache: a build (or its children) still at work. */
function processesUsing(cache: string): number[] {
  const marker = `LTSP_LAB_CACHE=${cache}\0`;
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  }).map(Number);
}

/** Everything an image build could leave: its containers, temp folders, processes. */
async function buildLeftovers(cache: ScratchCache): Promise<{ containers: string[]; temps: string[]; processes: number[] }> {
  return { containers: await buildContainers(), temps: cache.temps(), processes: processesUsing(cache.dir) };
}
const NO_BUILD_LEFTOVERS = { containers: [], temps: [], processes: [] };
/** What the truncated root keeps of its image: 64 MiB. */
const TRUNCATED_BYTES = 64 * 1024 * 1024;

async function finished(lab: BackgroundLab, kind: StepKind, what: string): Promise<CliResult> {
  const deadline = d(kind, what);
  return deadline.race(lab.exited, () => {
    lab.kill('SIGKILL', true);
    return new Error(`${what}: still running after ${deadline.totalMs / 1000} s\n${lab.stderr().slice(-3000)}`);
  });
}

/** The run id ./lab boot prints once its lab is up. */
function runIdOf(stderr: string): string | undefined {
  return /lab: run ([a-z0-9]{6}):/.exec(stderr)?.[1];
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/** Waits until a spawned `./lab boot --report REPORT` has its run id and its client shows iPXE; its run and server container. */
async function untilIpxe(lab: BackgroundLab, report: string): Promise<{ run: string; server: string }> {
  const run = await until(d('labStartWarm', 'the lab to start'), () => {
    if (lab.stderr().includes('lab: done')) throw new Error(`./lab boot ended early:\n${lab.stderr()}`);
    return runIdOf(lab.stderr());
  });
  await until(d('labBootPoint', 'iPXE on the console'), () => {
    const log = join(report, 'c1', 'console.log');
    return existsSync(log) && /iPXE/.test(readFileSync(log, 'utf8')) ? true : undefined;
  });
  const server = (await execCommand('docker', ['ps', '-q', '--no-trunc', '--filter', `label=${RUN_LABEL}=${run}`], { deadline: d('hostCommand', 'server id') })).stdout.trim();
  expect(server).to.match(/^[0-9a-f]{64}$/);
  return { run, server };
}

describe('lab failures: what a user\'s machine does to the lab is named, healed, and leaves nothing @full', function () {
  const realCache = cacheDir();
  let real: ImageManifest;

  before(async function () {
    // The real cache, warm (a no-op when it is): every scratch cache links to it.
    const r = await runLab(['build'], { timeoutMs: hostBudgetMs('imageBuild') });
    expect(r.code, r.stderr).to.equal(0);
    real = JSON.parse(r.stdout) as ImageManifest;
  });

  describe('the command line', function () {
    it('ran ./lab with no command: exit 2 and the help, so an empty CI line fails', async function () {
      const r = await runLab([], { timeoutMs: hostBudgetMs('labCommand') });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/Commands:[\s\S]*\bboot\b[\s\S]*\btest\b/).and.match(/no command given/);
    });

    it('asked every command for --help: exit 0 and its usage, with nothing installed or started', async function () {
      for (const cmd of ['boot', 'build', 'clean', 'bench', 'accel', 'report', 'baseline', 'test', 'setup']) {
        const r = await runLab([cmd, '--help'], { timeoutMs: hostBudgetMs('labCommand') });
        expect(r.code, `./lab ${cmd} --help: ${r.stderr}`).to.equal(0);
        expect(r.stdout, `./lab ${cmd} --help`).to.match(new RegExp(`\\./lab ${cmd}\\b`));
        expect(r.stderr, `./lab ${cmd} --help`).to.not.match(/starting dockerd|installing/);
        const h = await runLab(['help', cmd], { timeoutMs: hostBudgetMs('labCommand') });
        expect(h.stdout, `./lab help ${cmd}`).to.equal(r.stdout);
      }
    });
  });

  describe('an image build stopped half-way', function () {
    let cache: ScratchCache | undefined;
    afterEach(() => cache?.remove());

    it('sent SIGTERM to ./lab build during the root export: exit 143, its export container and temp folder gone', async function () {
      cache = await new ScratchCache(real, realCache).link('initramfs');
      const lab = spawnLab(['build'], { env: cache.env });
      await until(d('buildStepStart', 'the root export to start'), () => (/exporting the root filesystem/.test(lab.stderr()) ? true : undefined));
      // The export container carries the run's ownership labels, as a lab container does.
      const labels = await execCommand('docker', ['ps', '-a', '--filter', 'name=ltsp-lab-build-root-export-', '--format', `{{.Label "${LAB_LABEL}"}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}} {{.Label "${ARTEFACT_LABEL}"}}`], { deadline: d('hostCommand', 'labels') });
      expect(labels.stdout.trim()).to.match(new RegExp(`^true [a-z0-9]{6} ${lab.pid}:\\d+ root-export$`));
      await d('hostCommand', 'let the export write').sleep(3000);
      expect(cache.temps(), 'the export is under way in a temp folder').to.have.length(1);
      lab.kill('SIGTERM');
      const r = await finished(lab, 'startStop', './lab build after SIGTERM');
      expect(r.code, r.stderr).to.equal(143);
      expect(r.stderr).to.match(/SIGTERM: tearing the lab down/);
      expect(await buildLeftovers(cache)).to.deep.equal(NO_BUILD_LEFTOVERS);
      expect(existsSync(cache.path(real.rootImage)), 'no half-made root looks finished').to.equal(false);
    });

    it('killed ./lab build outright (SIGKILL to all of it) during dracut: ./lab clean reaps its container and temp folder', async function () {
      cache = await new ScratchCache(real, realCache).link('root');
      const lab = spawnLab(['build'], { env: cache.env });
      await until(d('buildStepStart', 'dracut to start'), () => (/initramfs: docker run/.test(lab.stderr()) ? true : undefined));
      await until(d('hostCommand', 'the dracut container'), async () => ((await buildContainers()).some((n) => n.startsWith('ltsp-lab-build-initramfs-')) ? true : undefined));
      // Every process of it (./lab, build.sh in its own group, their children), as a CI
      // runner's timeout or the OOM killer would: no trap runs.
      await until(d('hostCommand', 'kill the whole build'), () => {
        const pids = processesUsing(cache!.dir);
        for (const p of pids) process.kill(p, 'SIGKILL');
        return pids.length === 0 ? true : undefined;
      });
      await finished(lab, 'hostCommand', './lab build after SIGKILL');
      // No trap ran: the container (docker's client does not stop it) and the temp folder are still there.
      const left = await buildLeftovers(cache);
      expect(left.containers.filter((n) => n.startsWith('ltsp-lab-build-initramfs-'))).to.have.length(1);
      expect(left.temps).to.have.length(1);
      const c = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap'), env: cache.env });
      expect(c.code, c.stderr).to.equal(0);
      expect(c.stdout).to.match(/[1-9]\d* container\(s\)/).and.match(/1 temp folder\(s\) of dead image builds/);
      expect(await buildLeftovers(cache)).to.deep.equal(NO_BUILD_LEFTOVERS);
    });
  });

  describe('a boot killed before it had anything to report', function () {
    it('killed ./lab boot outright (SIGKILL to all of it) while its image build waits for the cache: no empty report folder is left', async function () {
      const cache = new ScratchCache(real, realCache);
      const reports = mkdtempSync(join(tmpdir(), 'ltsp-lab-reports-'));
      /** The run whose network the ./lab process `pid` owns (its owner label is pid:starttime). */
      const runOf = async (pid: number): Promise<string | undefined> => {
        const r = await execCommand('docker', ['network', 'ls', '--filter', `label=${LAB_LABEL}`, '--format', `{{.Label "${OWNER_LABEL}"}} {{.Label "${RUN_LABEL}"}}`], { deadline: d('hostCommand', 'lab networks') });
        return r.stdout.split('\n').find((l) => l.startsWith(`${pid}:`))?.split(' ')[1];
      };
      let run: string | undefined;
      let left: string[] = [];
      // Another holder of the cache lock: the boot's build waits for it, a point it reaches
      // after ./lab boot has checked its report folder and before anything is written there.
      // A process group of its own: flock runs sleep as its child, which a kill of flock alone would leave behind.
      const holder = spawn('flock', [join(cache.dir, '.lock'), 'sleep', '600'], { stdio: 'ignore', detached: true });
      try {
        await until(d('hostCommand', 'the lock holder'), () => (existsSync(join(cache.dir, '.lock')) ? true : undefined));
        const lab = spawnLab(['boot'], { env: { ...cache.env, LTSP_LAB_REPORTS: reports } });
        await until(d('labStartWarm', 'the build to wait for the cache lock'), () => {
          if (lab.stderr().includes('lab: done')) throw new Error(`./lab boot ended early:\n${lab.stderr()}`);
          return /holds \S+\.lock; waiting/.test(lab.stderr()) ? true : undefined;
        });
        // The network is made while the build waits: what a killed run leaves for ./lab clean.
        run = await until(d('labStartWarm', 'the run\'s network'), () => runOf(lab.pid));
        await until(d('hostCommand', 'kill the whole boot'), () => {
          const pids = processesUsing(cache.dir);
          for (const p of pids) process.kill(p, 'SIGKILL');
          return pids.length === 0 ? true : undefined;
        });
        await finished(lab, 'hostCommand', './lab boot after SIGKILL');
        left = readdirSync(reports);
      } finally {
        process.kill(-(holder.pid as number), 'SIGKILL');
        cache.remove();
        rmSync(reports, { recursive: true, force: true });
      }
      // The network it made while the build waited is reaped as a dead run's.
      const c = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap') });
      expect(c.code, c.stderr).to.equal(0);
      expect(await leftovers(run as string)).to.deep.equal(NOTHING);
      expect(left, 'report folders of a run that wrote nothing').to.deep.equal([]);
    });
  });

  describe('a damaged image cache heals (one scratch cache, healed step by step, then booted)', function () {
    let cache: ScratchCache;
    before(async function () {
      cache = await new ScratchCache(real, realCache).link('root', 'initramfs', 'ltsp');
    });
    after(() => cache?.remove());

    it('deleted the cached kernel: ./lab build takes it again from the root image, and says so', async function () {
      const kernel = cache.path(clientImages(real, 'stock').kernel);
      rmSync(kernel);
      const r = await runLab(['build'], { timeoutMs: hostBudgetMs('buildRepair'), env: cache.env });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/vmlinuz is missing: taking it again from ltsp-lab\/client-root:/);
      expect(await sha256File(kernel, d('hostFiles', 'hash'))).to.equal(await sha256File(clientImages(real, 'stock').kernel, d('hostFiles', 'hash')));
      expect(await buildLeftovers(cache)).to.deep.equal(NO_BUILD_LEFTOVERS);
    });

    it('flipped one byte of the initrd: ./lab build names the broken stream and rebuilds the initramfs alone', async function () {
      const initrd = cache.own(clientImages(real, 'stock').initrd);
      flipByte(initrd, Math.floor(statSync(initrd).size / 2));
      const broken = await execCommand('gzip', ['-t', initrd], { deadline: d('hostFiles', 'gzip -t'), allowFailure: true });
      expect(broken.code, 'the flipped byte breaks the stream').to.not.equal(0);
      const r = await runLab(['build'], { timeoutMs: hostBudgetMs('buildRepair'), env: cache.env });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/initrd\.img is damaged \(gzip -t: .*\): rebuilding the initramfs/);
      expect(r.stderr).to.not.match(/rebuilding the root|root-[0-9a-f]+ is damaged/);
      const m = JSON.parse(r.stdout) as ImageManifest;
      expect((await execCommand('gzip', ['-t', clientImages(m, 'stock').initrd], { deadline: d('hostFiles', 'gzip -t') })).code).to.equal(0);
      expect(await buildLeftovers(cache)).to.deep.equal(NO_BUILD_LEFTOVERS);
    });

    it('truncated the root image: ./lab boot says so, rebuilds it, and boots the healed cache to login', async function () {
      const root = cache.path(real.rootImage);
      rmSync(root);
      await execCommand('sh', ['-c', `head -c ${TRUNCATED_BYTES} "$0" > "$1"`, real.rootImage, root], { deadline: d('hostFiles', 'truncated copy') });
      const report = mkdtempSync(join(tmpdir(), 'ltsp-lab-heal-'));
      try {
        const r = await runLab(['boot', '--report', report], { timeoutMs: hostBudgetMs('buildRepair') + hostBudgetMs('labBoot'), env: cache.env });
        expect(r.code, r.stderr.slice(-4000)).to.equal(0);
        // build.sh's size check names a truncation before the harness hashes anything; the
        // hash names it where the size was not recorded (a cache built before root.ext4.size).
        expect(r.stderr).to.match(new RegExp([
          String.raw`root-[0-9a-f]+ is damaged \(root\.ext4 is ${TRUNCATED_BYTES} bytes, \d+ when it was built\): rebuilding it`,
          String.raw`root\.ext4 is damaged \(its sha256 is [0-9a-f]{12}…, [0-9a-f]{12}… when it was built\): rebuilding the root`,
        ].join('|')));
        expect(r.stdout).to.match(/login prompt/);
        expect(r.stderr).to.match(/nothing left running/);
        const run = runIdOf(r.stderr);
        expect(run, r.stderr).to.be.a('string');
        expect(await leftovers(run as string)).to.deep.equal(NOTHING);
        expect(await buildLeftovers(cache)).to.deep.equal(NO_BUILD_LEFTOVERS);
      } finally {
        rmSync(report, { recursive: true, force: true });
      }
    });
  });

  describe('the lab breaking under a boot', function () {
    // Killing dockerd stops every container, the shared core lab's server too: the core lab
    // goes first, and the next file that asks for it starts a fresh one (support/core-lab.ts).
    before(async function () {
      await stopCoreLab();
      // Nor may the other lane of ./lab test have a container running (support/lanes.ts).
      await hostToItself('dockerd is killed');
    });

    it('killed the Docker daemon mid-boot: exit 5, what is left is listed, and ./lab clean reaps it once Docker is back', async function () {
      const report = mkdtempSync(join(tmpdir(), 'ltsp-lab-nodocker-'));
      const lab = spawnLab(['boot', '--report', report]);
      let run: string | undefined;
      let server = '';
      try {
        ({ run, server } = await untilIpxe(lab, report));
        // dockerd was started by ./lab (setsid dockerd); stopped by its own pid file.
        process.kill(Number(readFileSync('/var/run/docker.pid', 'utf8')), 'SIGKILL');
        const r = await finished(lab, 'stopKept', './lab boot after dockerd died');
        expect(r.code, r.stderr.slice(-3000)).to.equal(5);
        expect(r.stderr).to.match(/lab: the harness broke: the Docker daemon stopped answering mid-run/);
        expect(r.stderr).to.not.match(/system under test failed|nothing left running/);
        expect(r.stderr).to.match(new RegExp(`left behind: .*bridge ltl${run}.*; \\./lab clean reaps it once Docker answers again`));
      } finally {
        lab.kill('SIGKILL', true);
        // Whatever happened, dockerd comes back the way ./lab starts it, once: ./lab waits
        // while a daemon killed mid-work cleans up, and says why if it cannot (ensure_docker).
        const s = await runLab(['setup'], { timeoutMs: hostBudgetMs('labSetup') });
        expect(s.code, s.stderr).to.equal(0);
        rmSync(report, { recursive: true, force: true });
      }
      const c = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap') });
      expect(c.code, c.stderr).to.equal(0);
      expect(await leftovers(run)).to.deep.equal(NOTHING);
      const shims = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(server);
        } catch {
          return false;
        }
      });
      expect(shims, "the server container's shim and processes").to.deep.equal([]);
    });
  });

  describe('the server held from outside', function () {
    it('docker paused the server mid-boot: exit 5 naming the pause and what to do, not a failure of the stack; nothing left', async function () {
      const report = mkdtempSync(join(tmpdir(), 'ltsp-lab-paused-'));
      const lab = spawnLab(['boot', '--report', report]);
      let run: string | undefined;
      let server = '';
      try {
        ({ run, server } = await untilIpxe(lab, report));
        await execCommand('docker', ['pause', server], { deadline: d('hostCommand', 'docker pause') });
        const r = await finished(lab, 'labBoot', './lab boot with its server paused');
        expect(r.stderr, r.stderr.slice(-3000)).to.match(new RegExp(`lab: the harness broke: the LTSP server container ${server.slice(0, 12)} is paused \\(docker pause\\), so its clients could not go on: not the stack's doing`));
        expect(r.stderr).to.match(/lab: hint: something outside the lab holds it: docker unpause/);
        expect(r.stderr).to.not.match(/system under test failed/);
        expect(r.code, r.stderr.slice(-3000)).to.equal(5);
      } finally {
        lab.kill('SIGKILL', true);
        if (server) await execCommand('docker', ['unpause', server], { deadline: d('hostCommand', 'docker unpause'), allowFailure: true });
        rmSync(report, { recursive: true, force: true });
      }
      expect(run).to.match(/^[a-z0-9]{6}$/);
      expect(await leftovers(run as string)).to.deep.equal(NOTHING);
    });
  });

  describe('a full report disk', function () {
    let mnt: string | undefined;
    afterEach(async function () {
      if (!mnt) return;
      await execCommand('umount', [mnt], { deadline: d('hostCommand', 'umount'), allowFailure: true });
      rmSync(mnt, { recursive: true, force: true });
      mnt = undefined;
    });

    async function tmpfs(size: string): Promise<string> {
      mnt = mkdtempSync(join(tmpdir(), 'ltsp-lab-tmpfs-'));
      await execCommand('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { deadline: d('hostCommand', 'mount tmpfs') });
      return mnt;
    }

    async function labResources(): Promise<string[]> {
      const dd = d('hostCommand', 'list lab resources');
      const cs = await execCommand('docker', ['ps', '-aq', '--filter', `label=${LAB_LABEL}`], { deadline: dd });
      const ns = await execCommand('docker', ['network', 'ls', '-q', '--filter', `label=${LAB_LABEL}`], { deadline: dd });
      return [...cs.stdout.split('\n'), ...ns.stdout.split('\n')].filter(Boolean).sort();
    }

    it('gave --report a folder on a 1 MiB tmpfs: exit 3 before anything starts, and no empty report folder', async function () {
      const dir = join(await tmpfs('1m'), 'report');
      const before = await labResources();
      const r = await runLab(['boot', '--report', dir], { timeoutMs: hostBudgetMs('labCommand') });
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stderr).to.match(new RegExp(`set-up problem: the report folder ${dir} has \\d+\\.\\d MiB free; a run needs at least \\d+ MiB`));
      expect(!existsSync(dir) || readdirSync(dir).length > 0, 'an empty report folder is left').to.equal(true);
      expect(await labResources()).to.deep.equal(before);
    });

    it('filled the report disk mid-boot: exit 3 at once, the timeline still on stdout, the console log said to be incomplete', async function () {
      const disk = await tmpfs('20m');
      const dir = join(disk, 'report');
      mkdirSync(dir);
      const lab = spawnLab(['boot', '--report', dir]);
      let run: string | undefined;
      try {
        run = await until(d('labStartWarm', 'the lab to start'), () => runIdOf(lab.stderr()) ?? (lab.stderr().includes('lab: done') ? 'ended' : undefined));
        await until(d('labBootPoint', 'the console log'), () => (existsSync(join(dir, 'c1', 'console.log')) && statSync(join(dir, 'c1', 'console.log')).size > 0 ? true : undefined));
        await execCommand('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=64k'], { deadline: d('hostCommand', 'fill the disk'), allowFailure: true });
        const filledAt = performance.now();
        const r = await finished(lab, 'stopKept', './lab boot on a full disk');
        expect(r.code, r.stderr.slice(-3000)).to.equal(3);
        expect(r.stderr).to.match(/set-up problem: c1: the console log \S+console\.log could not be written whole: it stops after \d+ bytes \(ENOSPC\): the report folder's disk is full/);
        expect(r.stdout, 'the timeline').to.match(/stage\s+c1/);
        expect(performance.now() - filledAt, 'the boot stops when its log cannot be kept, not at its budget').to.be.below(30_000);
      } finally {
        lab.kill('SIGKILL', true);
      }
      expect(run).to.match(/^[a-z0-9]{6}$/);
      expect(await leftovers(run as string)).to.deep.equal(NOTHING);
    });
  });
});

/*
 * The state folder ($LTSP_LAB_STATE) and the reaper: the lab removes only what it made.
 * Another run is stood up by hand where a real one would cost a boot: a sleep is its
 * owner, and it has what a lab has (a network labelled with its owner, a tap, the
 * DOCKER-USER rule, a marked run folder, a run file); killing the sleep makes it dead.
 */
describe('the state folder: the lab touches only what it made, and never another run\'s @full', function () {
  const made: string[] = [];
  const owners: ChildProcess[] = [];

  function scratch(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  }

  /**
   * A live process to own a run ("pid:starttime"), optionally as another user; on SIGTERM
   * it removes `dir` (its run folder) and exits, as a kept ./lab boot tears down.
   */
  async function liveOwner(opts: { uid?: number; dir?: string } = {}): Promise<{ owner: string; proc: ChildProcess }> {
    const script = `trap 'kill $!; rm -rf "$0"; exit 0' TERM; sleep 900 & wait`;
    const proc = spawn('sh', ['-c', script, opts.dir ?? '/nonexistent'], { stdio: 'ignore', detached: true, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}) });
    owners.push(proc);
    await new Promise((resolve) => proc.once('spawn', resolve));
    return { owner: `${proc.pid}:${processStartTime(proc.pid as number)}`, proc };
  }

  /** A run folder as RunContext.register makes it, with a run file when `kept` is given. */
  function runFolder(root: string, id: string, owner: string, kept?: boolean): void {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, RUN_MARKER), runMarkerText(id));
    writeFileSync(join(root, id, 'owner'), `${owner}\n`);
    if (kept === undefined) return;
    const file = { version: 1, run: id, owner, pid: Number(owner.split(':')[0]), startedAt: new Date().toISOString(), command: kept ? './lab boot --keep' : './lab boot', reportDir: '/tmp', kept, clients: [] };
    writeFileSync(join(root, id, 'run.json'), JSON.stringify(file));
  }

  const dd = (what: string): Deadline => d('hostCommand', what);
  const ruleOf = (id: string): string[] => ['DOCKER-USER', '-i', `ltl${id}`, '-o', `ltl${id}`, '-j', 'ACCEPT', '-m', 'comment', '--comment', `ltsp-lab:${id}`];

  /** What a lab's network side is: a docker network labelled with its owner, its bridge, a tap on it, the rule. */
  async function networkOf(id: string, owner: string): Promise<void> {
    await execCommand('docker', ['network', 'create', '--internal', '-o', `com.docker.network.bridge.name=ltl${id}`, '--label', `${LAB_LABEL}=true`, '--label', `${RUN_LABEL}=${id}`, '--label', `${OWNER_LABEL}=${owner}`, `ltsp-lab-${id}`], { deadline: dd('create a network') });
    await tapOf(id);
    await execCommand('iptables', ['-I', ...ruleOf(id)], { deadline: dd('insert a rule') });
  }

  async function tapOf(id: string): Promise<void> {
    await execCommand('ip', ['tuntap', 'add', 'dev', `ltt${id}c1`, 'mode', 'tap'], { deadline: dd('add a tap') });
    await execCommand('ip', ['link', 'set', 'dev', `ltt${id}c1`, 'master', `ltl${id}`], { deadline: dd('bridge the tap'), allowFailure: true });
  }

  /** What of run `id`'s network side is there. */
  async function networkSide(id: string): Promise<{ network: boolean; tap: boolean; rule: boolean }> {
    const n = await execCommand('docker', ['network', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${id}`], { deadline: dd('list networks') });
    const tap = await execCommand('ip', ['link', 'show', 'dev', `ltt${id}c1`], { deadline: dd('look for the tap'), allowFailure: true });
    const rule = await execCommand('iptables', ['-C', ...ruleOf(id)], { deadline: dd('look for the rule'), allowFailure: true });
    return { network: n.stdout.trim() !== '', tap: tap.code === 0, rule: rule.code === 0 };
  }

  const ID = { other: 'zq1aaa', nobody: 'zq1bbb' };

  after(async function () {
    for (const p of owners) {
      try {
        process.kill(-(p.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const id of Object.values(ID)) {
      await execCommand('ip', ['link', 'del', 'dev', `ltt${id}c1`], { deadline: dd('remove a tap'), allowFailure: true });
      for (let i = 0; i < 3; i++) await execCommand('iptables', ['-D', ...ruleOf(id)], { deadline: dd('remove a rule'), allowFailure: true });
      await execCommand('docker', ['network', 'rm', `ltsp-lab-${id}`], { deadline: dd('remove a network'), allowFailure: true });
    }
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('a folder of user data as LTSP_LAB_STATE: ./lab ls, clean and boot refuse it (exit 3) before they touch it, and every file stays', async function () {
    const root = scratch('ltsp-lab-userdata-');
    mkdirSync(join(root, 'photos', '2024'), { recursive: true });
    writeFileSync(join(root, 'photos', '2024', 'img.txt'), 'a photo');
    mkdirSync(join(root, 'backup'));
    writeFileSync(join(root, 'backup', 'db.sql'), 'a backup');
    writeFileSync(join(root, 'config'), 'a config');
    // A name that fits a run id, with an owner file of a dead pid: not the lab's without its marker.
    mkdirSync(join(root, 'notes1'));
    writeFileSync(join(root, 'notes1', 'owner'), '99999999:1\n');
    const files = (): string[] => readdirSync(root, { recursive: true }).map(String).sort();
    const before = files();
    for (const args of [['ls'], ['clean'], ['boot']]) {
      const r = await runLab(args, { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap'), env: { LTSP_LAB_STATE: root } });
      expect(r.code, `./lab ${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(3);
      expect(r.stderr).to.match(/set-up problem: the state folder \(LTSP_LAB_STATE\) \S+ holds what the lab did not make \(backup, config, notes1, photos\)/);
      expect(r.stderr).to.match(/hint: point LTSP_LAB_STATE at a folder of the lab's own/);
      expect(files(), `after ./lab ${args.join(' ')}`).to.deep.equal(before);
    }
  });

  for (const c of [
    { root: '/proc/ltsp-lab-state', says: /cannot be used: it is under \/proc/ },
    { root: '/proc/1', says: /cannot be used: it is under \/proc/ },
    { root: 'read-only', says: /cannot be used: it is not writable \(EROFS: a read-only file system\)/ },
  ]) {
    it(`LTSP_LAB_STATE ${c.root}: ./lab boot exits 3 at once, before any reap, saying what to do`, async function () {
      let root = c.root;
      if (root === 'read-only') {
        root = scratch('ltsp-lab-ro-');
        await execCommand('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', root], { deadline: dd('mount a read-only tmpfs') });
      }
      try {
        const r = await runLab(['boot'], { timeoutMs: hostBudgetMs('labCommand'), env: { LTSP_LAB_STATE: root } });
        expect(r.code, `${r.signal ?? ''} ${r.stderr.slice(-2000)}`).to.equal(3);
        expect(r.stderr).to.match(c.says).and.match(/hint: point LTSP_LAB_STATE at a folder of the lab's own/);
        expect(r.stderr, 'a stack trace').to.not.match(/^\s+at /m);
        process.stderr.write(`      (exit 3 after ${(r.ms / 1000).toFixed(2)} s, the lab script included)\n`);
      } finally {
        if (root !== c.root) await execCommand('umount', [root], { deadline: dd('unmount'), allowFailure: true });
      }
    });
  }

  it('two state roots, two live runs: neither\'s clean nor lab start-up removes the other\'s tap or rule; once its owner dies they go', async function () {
    const rootA = scratch('ltsp-lab-state-a-');
    const rootB = scratch('ltsp-lab-state-b-');
    const other = await liveOwner();
    runFolder(rootA, ID.other, other.owner);
    await networkOf(ID.other, other.owner);
    // A tap no network, container or run folder vouches for: whose it is nobody here can say.
    await tapOf(ID.nobody);
    const all = { network: true, tap: true, rule: true };
    expect(await networkSide(ID.other)).to.deep.equal(all);

    const clean = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap'), env: { LTSP_LAB_STATE: rootB } });
    expect(clean.code, clean.stderr).to.equal(0);
    expect(await networkSide(ID.other), 'after ./lab clean with another state root').to.deep.equal(all);
    expect((await networkSide(ID.nobody)).tap, 'the tap nobody vouches for').to.equal(true);
    expect(clean.stdout).to.match(new RegExp(`left alone the live run\\(s\\) .*${ID.other}`)).and.match(new RegExp(`left alone the taps or rules of run\\(s\\) .*${ID.nobody}`));

    // A lab's start-up reaps the same way. The host's accelerator verdict goes with it, so
    // its start boots no probe guest (the verdict is the lab's own file, keyed to this host).
    const verdict = join(stateRoot(), 'accel-verdict.json');
    if (existsSync(verdict)) copyFileSync(verdict, join(rootB, 'accel-verdict.json'));
    const saved = process.env.LTSP_LAB_STATE;
    process.env.LTSP_LAB_STATE = rootB;
    try {
      const lab = await startSuiteLab(this.test?.parent as Mocha.Suite);
      try {
        expect(await networkSide(ID.other), 'after a lab with another state root started').to.deep.equal(all);
        expect((await networkSide(ID.nobody)).tap).to.equal(true);
      } finally {
        await lab.stop();
      }
    } finally {
      if (saved === undefined) delete process.env.LTSP_LAB_STATE;
      else process.env.LTSP_LAB_STATE = saved;
    }

    // Its owner dead, its network says so, whatever the state root: network, tap and rule go.
    process.kill(-(other.proc.pid as number), 'SIGKILL');
    await until(d('hostCommand', 'the owner to die'), () => (ownerAlive(other.owner) ? undefined : true));
    const reap = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap'), env: { LTSP_LAB_STATE: rootB } });
    expect(reap.code, reap.stderr).to.equal(0);
    expect(await networkSide(ID.other), 'after ./lab clean once its owner died').to.deep.equal({ network: false, tap: false, rule: false });
    expect(readdirSync(rootA), 'root A is not root B\'s to clean').to.deep.equal([ID.other]);
    rmSync(join(rootB, 'accel-verdict.json'), { force: true });
    const reapA = await runLab(['clean'], { timeoutMs: hostBudgetMs('labCommand') + hostBudgetMs('reap'), env: { LTSP_LAB_STATE: rootA } });
    expect(reapA.code, reapA.stderr).to.equal(0);
    expect(readdirSync(rootA)).to.deep.equal([]);
  });

  it('./lab stop acts only on a kept run of the caller: never on a boot that is not kept, nor on another user\'s', async function () {
    const root = scratch('ltsp-lab-state-stop-');
    const env = { LTSP_LAB_STATE: root };
    const plain = await liveOwner();
    runFolder(root, 'zq1ccc', plain.owner, false);
    const alone = await runLab(['stop'], { timeoutMs: hostBudgetMs('labCommand'), env });
    expect(alone.code, alone.stderr).to.equal(2);
    expect(alone.stderr).to.match(/no run to pick/).and.not.match(/zq1ccc/);
    const named = await runLab(['stop', 'zq1ccc'], { timeoutMs: hostBudgetMs('labCommand'), env });
    expect(named.code, named.stderr).to.equal(2);
    expect(named.stderr).to.match(/run zq1ccc is not kept/);
    expect(ownerAlive(plain.owner), 'the plain boot\'s owner').to.equal(true);

    const theirs = await liveOwner({ uid: 65534 });
    runFolder(root, 'zq1ddd', theirs.owner, true);
    const offered = await runLab(['stop'], { timeoutMs: hostBudgetMs('labCommand'), env });
    expect(offered.code, offered.stderr).to.equal(2);
    expect(offered.stderr).to.not.match(/zq1ddd|zq1ccc/);
    const other = await runLab(['stop', 'zq1ddd'], { timeoutMs: hostBudgetMs('labCommand'), env });
    expect(other.code, other.stderr).to.equal(2);
    expect(other.stderr).to.match(/run zq1ddd is another user's \(uid 65534\)[\s\S]*hint: --all-users takes it all the same/);
    expect(ownerAlive(theirs.owner), 'the other user\'s owner').to.equal(true);

    // The one it takes: the caller's kept run.
    const mine = await liveOwner({ dir: join(root, 'zq1eee') });
    runFolder(root, 'zq1eee', mine.owner, true);
    const stopped = await runLab(['stop'], { timeoutMs: hostBudgetMs('labCommand'), env });
    expect(stopped.code, stopped.stderr).to.equal(0);
    expect(stopped.stdout).to.match(/^lab stop: run zq1eee stopped in [\d.]+ s; nothing left running$/m);
    expect(ownerAlive(mine.owner)).to.equal(false);
  });
});

import { expect } from 'chai';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline, execCommand, HarnessError, stepDeadline, VM_IMAGES_DIR, type ImageManifest, hostBudgetMs, type StepKind } from '../harness/index';
import { testReportDir } from './support/report-dir';
import { recordTestData } from './support/run-report';

/*
 * vm-images/build.sh fed bad input. Each case breaks one thing in a copy of
 * vm-images/, builds the copy into a fresh cache, and expects the build to stop with
 * "FAILED step <name>: <why>" and leave nothing in the cache but its logs, and no new
 * image in docker. The real vm-images/ and the real cache are only read.
 */

type Keys = Record<'base' | 'server' | 'root' | 'initramfs' | 'kernel' | 'initramfs-ltsp', string>;

interface BuildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a build.sh in its own process group; past the deadline it gets SIGTERM, so its EXIT trap still cleans up. */
async function runBuild(buildSh: string, args: string[], env: Record<string, string>, deadline: Deadline, reportDir?: string): Promise<BuildResult> {
  const t0 = Date.now();
  // Its own process group, so the SIGTERM past the deadline reaches build.sh and its docker runs.
  const proc = spawn(buildSh, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-(proc.pid as number), sig);
    } catch {
      /* gone */
    }
  };
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    const code = await deadline.race(exited, () => new HarnessError(`${buildSh} ${args.join(' ')} did not finish within ${deadline.totalMs / 1000} s\n${stderr.slice(-3000)}`));
    return { code, stdout, stderr, ms: Date.now() - t0 };
  } catch (e) {
    signal('SIGTERM');
    if (!(await Deadline.after(hostBudgetMs('timedCommandGrace'), 'build.sh to exit after SIGTERM').race(exited).then(() => true, () => false))) signal('SIGKILL');
    throw e;
  } finally {
    if (reportDir) {
      writeFileSync(join(reportDir, 'build.log'), `$ ${buildSh} ${args.join(' ')}\n${stderr}\n--- stdout ---\n${stdout}`);
      recordTestData(reportDir, 'builds', { build: buildSh, args, ms: Date.now() - t0 });
    }
  }
}

/** The `FAILED step <name>: <why>` line the build ends with. */
function failedStep(stderr: string): { step: string; reason: string } | undefined {
  const m = /^\[ltsp-lab build\] FAILED step (\S+): (.*)$/m.exec(stderr);
  return m ? { step: m[1] as string, reason: m[2] as string } : undefined;
}

/** Progress lines (`say`), which only a step that started working prints. */
function progressLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\[ltsp-lab build\s+\d+s\]/.test(l));
}

async function ltspImageTags(deadline: Deadline): Promise<Set<string>> {
  const out = await execCommand('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { deadline });
  return new Set(out.stdout.split('\n').filter((t) => t.startsWith('ltsp-lab/')));
}

async function hasImage(tag: string, deadline: Deadline): Promise<boolean> {
  return (await execCommand('docker', ['image', 'inspect', tag], { deadline, allowFailure: true })).code === 0;
}

/**
 * Containers of our images (descendants of an ltsp-lab/base image) that no lab run owns
 * (no ltsp-lab.run label): what a failed `docker build` step leaves behind.
 */
async function unownedContainers(deadline: Deadline): Promise<Set<string>> {
  const bases = [...(await ltspImageTags(deadline))].filter((t) => t.startsWith('ltsp-lab/base:'));
  if (bases.length === 0) return new Set();
  const out = await execCommand('docker', ['ps', '-a', ...bases.flatMap((b) => ['--filter', `ancestor=${b}`]), '--format', '{{.ID}} {{.Label "ltsp-lab.run"}}'], { deadline });
  const ids = out.stdout.split('\n').map((l) => l.trim().split(' ')).filter(([id, run]) => id && !run).map(([id]) => id as string);
  return new Set(ids);
}

/** A scratch copy of vm-images/ and an empty cache, under one temp folder. */
class Scratch {
  readonly root = mkdtempSync(join(tmpdir(), 'ltsp-lab-build-'));
  readonly vmImages = join(this.root, 'vm-images');
  readonly cache = join(this.root, 'cache');
  readonly buildSh = join(this.vmImages, 'build.sh');

  async init(deadline: Deadline): Promise<this> {
    await execCommand('cp', ['-a', VM_IMAGES_DIR, this.vmImages], { deadline });
    mkdirSync(this.cache);
    return this;
  }

  path(rel: string): string {
    return join(this.vmImages, rel);
  }

  /** A change that alters a recipe file's hash and nothing else it means. */
  addComment(rel: string, note: string): void {
    appendFileSync(this.path(rel), `\n# lab notebook: ${note}\n`);
  }

  async keys(deadline: Deadline): Promise<Keys> {
    const r = await runBuild(this.buildSh, ['--keys'], {}, deadline);
    expect(r.code, `build.sh --keys of the copy exited ${r.code}:\n${r.stderr}`).to.equal(0);
    return JSON.parse(r.stdout) as Keys;
  }

  /**
   * Whatever the build left in its cache besides logs/ and its lock file: temp
   * folders, artefact folders, a manifest.
   */
  cacheLeftovers(cache = this.cache): string[] {
    return existsSync(cache) ? readdirSync(cache).filter((n) => !['logs', '.lock'].includes(n)) : [];
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

interface BadInputCase {
  what: string;
  /** Breaks the copy; may return extra environment for the build. */
  breakIt: (s: Scratch) => Record<string, string> | void;
  step: string;
  reason: RegExp;
  /** Where the build's stderr says more about why, e.g. the tail of a step's log. */
  detail?: RegExp;
  /** The step fails before any work: no progress line at all. */
  beforeAnyWork?: boolean;
  /** Images that must not exist afterwards, from the broken copy's keys. */
  mustNotExist?: (k: Keys) => string[];
  /** Bound on the whole failing build. */
  budget: StepKind;
  /** The cache folder to build into, if not the scratch one (set up by breakIt). */
  cache?: (s: Scratch) => string;
}

describe('image build: bad input stops vm-images/build.sh at a named step and leaves the cache clean @full', function () {
  let scratch: Scratch | undefined;
  let tmpfs: string | undefined;

  beforeEach(async function () {
    scratch = new Scratch();
    await scratch.init(stepDeadline(hostBudgetMs('copyRecipes'), 'copy vm-images/ to a scratch folder'));
  });

  afterEach(async function () {
    if (tmpfs) {
      const d = Deadline.after(hostBudgetMs('hostCommand'), `umount ${tmpfs}`);
      const r = await execCommand('umount', [tmpfs], { deadline: d, allowFailure: true });
      if (r.code !== 0) await execCommand('umount', ['-l', tmpfs], { deadline: d, allowFailure: true });
      tmpfs = undefined;
    }
    scratch?.remove();
    scratch = undefined;
  });

  const cases: BadInputCase[] = [
    {
      what: 'client/root/Dockerfile deleted: the root step is named before any work',
      breakIt: (s) => rmSync(s.path('client/root/Dockerfile')),
      step: 'root',
      reason: /recipe file missing: vm-images\/client\/root\/Dockerfile/,
      beforeAnyWork: true,
      budget: 'buildRefused',
    },
    {
      what: "the dracut module's module-setup.sh deleted: the initramfs step is named before any work",
      breakIt: (s) => rmSync(s.path('client/dracut/90ltsp-union/module-setup.sh')),
      step: 'initramfs',
      reason: /recipe file missing: vm-images\/client\/dracut\/90ltsp-union\/module-setup\.sh/,
      beforeAnyWork: true,
      budget: 'buildRefused',
    },
    {
      what: 'a shell syntax error in the pre-pivot hook ltsp-union.sh: the initramfs step is named, with the line',
      breakIt: (s) => appendFileSync(s.path('client/dracut/90ltsp-union/ltsp-union.sh'), '\nif then fi (\n'),
      step: 'initramfs',
      reason: /recipe file is corrupt \(shell syntax error\): vm-images\/client\/dracut\/90ltsp-union\/ltsp-union\.sh: line \d+: syntax error/,
      beforeAnyWork: true,
      budget: 'buildRefused',
    },
    {
      what: 'a shell syntax error in base/recipe.sh: the base step is named, with the line',
      breakIt: (s) => appendFileSync(s.path('base/recipe.sh'), '\nBASE_SUITE=$(bookworm\n'),
      step: 'base',
      reason: /recipe file is corrupt \(shell syntax error\): vm-images\/base\/recipe\.sh: line \d+: /,
      beforeAnyWork: true,
      budget: 'buildRefused',
    },
    {
      what: 'debootstrap against a mirror where nothing listens (127.0.0.1:9): the base step fails, no base image',
      breakIt: (s) => {
        s.addComment('base/recipe.sh', 'a new base key, so debootstrap has to run');
        return { LTSP_LAB_MIRROR: 'http://127.0.0.1:9/debian' };
      },
      step: 'base',
      reason: /command failed \(exit \d+\): debootstrap .*http:\/\/127\.0\.0\.1:9\/debian/,
      detail: /Failed getting release file http:\/\/127\.0\.0\.1:9\/debian/,
      mustNotExist: (k) => [`ltsp-lab/base:${k.base}`, `ltsp-lab/server:${k.server}`, `ltsp-lab/client-root:${k.root}`],
      budget: 'buildStepFails',
    },
    {
      what: "apt-get install of a package that does not exist, in the server's Dockerfile: the server step fails, no server image",
      breakIt: (s) => {
        const f = s.path('server/Dockerfile');
        const text = readFileSync(f, 'utf8');
        const broken = text.replace('apt-get install -y --no-install-recommends busybox', 'apt-get install -y --no-install-recommends ltsp-lab-no-such-package busybox');
        expect(broken, 'the server Dockerfile no longer has the apt-get install line this case edits').to.not.equal(text);
        writeFileSync(f, broken);
      },
      step: 'server',
      reason: /command failed \(exit \d+\): docker build .*server-docker-build\.log/,
      detail: /Unable to locate package ltsp-lab-no-such-package/,
      mustNotExist: (k) => [`ltsp-lab/server:${k.server}`],
      budget: 'serverImageBuild',
    },
    {
      what: 'a full disk (a 64 MiB tmpfs as the cache) when the root has to be rebuilt: need_space refuses, step root',
      breakIt: (s) => s.addComment('client/root/Dockerfile', 'a new root key, so the root step has to run'),
      cache: (s) => join(s.root, 'small-cache'),
      step: 'root',
      reason: /not enough disk space in .*small-cache: this step needs \d+ MiB, \d+ MiB free/,
      mustNotExist: (k) => [`ltsp-lab/client-root:${k.root}`],
      budget: 'buildStepFails',
    },
  ];

  for (const c of cases) {
    it(c.what, async function () {
      const s = scratch as Scratch;
      const buildMs = hostBudgetMs(c.budget);
      const deadline = stepDeadline(buildMs + hostBudgetMs('imageKeys'), c.what);
      const reportDir = testReportDir(this.test!);
      const env = c.breakIt(s) ?? {};
      let cache = s.cache;
      if (c.cache) {
        cache = c.cache(s);
        mkdirSync(cache);
        await execCommand('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'ltsp-lab-test-small-cache', cache], { deadline });
        tmpfs = cache;
      }
      // The broken copy's keys, where it still has them: the images a failed step must not have made.
      const keys = c.mustNotExist ? await s.keys(deadline) : undefined;
      const tagsBefore = await ltspImageTags(deadline);
      const containersBefore = await unownedContainers(deadline);

      const r = await runBuild(s.buildSh, [], { ...env, LTSP_LAB_CACHE: cache }, deadline.child(buildMs, `build of the broken copy (${c.what})`), reportDir);

      expect(r.code, `the build of the broken copy exited ${r.code}; it should fail. stderr:\n${r.stderr}`).to.not.equal(0);
      const failed = failedStep(r.stderr);
      expect(failed, `no "FAILED step <name>: <why>" line in the build's stderr:\n${r.stderr}`).to.not.equal(undefined);
      expect(failed!.step, `the build named step '${failed!.step}' (${failed!.reason})`).to.equal(c.step);
      expect(failed!.reason, `the reason the build gave is not the expected one`).to.match(c.reason);
      if (c.detail) expect(r.stderr, "the build's stderr does not show the underlying error").to.match(c.detail);
      if (c.beforeAnyWork) {
        expect(progressLines(r.stderr), 'a step started working before the broken recipe was noticed').to.deep.equal([]);
      }
      expect(r.stdout.trim(), 'a failed build printed a manifest').to.equal('');

      expect(s.cacheLeftovers(cache), `the failed build left these in its cache ${cache} (only logs/ and .lock may stay)`).to.deep.equal([]);
      const logs = join(cache, 'logs');
      if (existsSync(logs)) {
        const notFiles = readdirSync(logs).filter((n) => !statSync(join(logs, n)).isFile());
        expect(notFiles, `folders in ${logs}`).to.deep.equal([]);
      }

      const after = stepDeadline(hostBudgetMs('hostCommand'), 'docker state after the failed build');
      const newTags = [...(await ltspImageTags(after))].filter((t) => !tagsBefore.has(t));
      expect(newTags, 'the failed build tagged new ltsp-lab images').to.deep.equal([]);
      for (const tag of keys && c.mustNotExist ? c.mustNotExist(keys) : []) {
        expect(await hasImage(tag, after), `${tag} exists after its step failed`).to.equal(false);
      }
      const newContainers = [...(await unownedContainers(after))].filter((id) => !containersBefore.has(id));
      expect(newContainers, 'containers the failed build left behind (e.g. a failed docker build step)').to.deep.equal([]);
    });
  }
});

describe('image build: a warm build is a no-op, and each key hashes only its own recipe files @full', function () {
  let scratch: Scratch | undefined;

  afterEach(function () {
    scratch?.remove();
    scratch = undefined;
  });

  it('a warm build of the real vm-images/ reuses every artefact and prints a manifest whose files exist', async function () {
    const deadline = stepDeadline(hostBudgetMs('imageBuild') + hostBudgetMs('warmBuild'), 'warm build of vm-images/');
    const reportDir = testReportDir(this.test!);
    // The first run makes sure everything is built (as Lab.start would); the second is the no-op this test is about.
    const first = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), [], {}, deadline.child(hostBudgetMs('imageBuild'), 'build to warm the cache'));
    expect(first.code, `the build to warm the cache failed:\n${first.stderr}`).to.equal(0);
    const r = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), [], {}, deadline.child(hostBudgetMs('warmBuild'), 'warm build'), reportDir);
    expect(r.code, `the warm build failed:\n${r.stderr}`).to.equal(0);

    const progress = progressLines(r.stderr);
    for (const step of ['base', 'server', 'root', 'initramfs', 'kernel', 'initramfs-ltsp']) {
      expect(progress.some((l) => new RegExp(`\\] ${step}: cached `).test(l)), `the warm build did not reuse the ${step} artefact:\n${r.stderr}`).to.equal(true);
    }
    const work = progress.filter((l) => /: (debootstrap|docker build|docker import|mkfs|docker run)\b/.test(l));
    expect(work, 'the warm build did real work').to.deep.equal([]);

    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(r.stdout) as ImageManifest;
    } catch {
      throw new Error(`the warm build's stdout is not a JSON manifest:\n${r.stdout}`);
    }
    const clients = (manifest as ImageManifest & { clients: Record<'ltsp' | 'stock', { kernel: string; initrd: string }> }).clients;
    // Each kind's files are named once, under clients: no top-level copy of one kind's beside them.
    expect(Object.keys(manifest), 'the manifest\'s top-level keys').to.not.include.members(['kernel', 'initrd', 'kernelVersion']);
    for (const [what, path] of [
      ['root image', manifest.rootImage],
      ['ltsp kernel', clients.ltsp.kernel],
      ['ltsp initramfs', clients.ltsp.initrd],
      ['stock kernel', clients.stock.kernel],
      ['stock initramfs', clients.stock.initrd],
    ] as const) {
      expect(existsSync(path) && statSync(path).size > 0, `the manifest's ${what} ${path} is missing or empty`).to.equal(true);
    }
    const d = stepDeadline(hostBudgetMs('hostCommand'), 'docker image inspect');
    for (const tag of [manifest.baseImage, manifest.serverImage, manifest.rootImageTag]) {
      expect(await hasImage(tag, d), `the manifest names ${tag}, which docker does not have`).to.equal(true);
    }
    const keys = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), ['--keys'], {}, stepDeadline(hostBudgetMs('imageKeys'), 'build.sh --keys'));
    expect(keys.code, keys.stderr).to.equal(0);
    expect(JSON.parse(keys.stdout), 'build.sh --keys disagrees with the keys in the manifest').to.deep.equal(manifest.keys);
  });

  it('a stale build lock (a lock file left by a build that died) does not stop the next build; a held one makes it wait', async function () {
    const cache = process.env.LTSP_LAB_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'ltsp-lab');
    const lock = join(cache, '.lock');
    // The pid of a process that is gone: what a SIGKILLed build leaves in the file.
    writeFileSync(lock, '999999\n');
    const r = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), [], {}, stepDeadline(hostBudgetMs('warmBuild'), 'build past a stale lock'));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/holds .*\.lock/);
    expect(readFileSync(lock, 'utf8').trim()).to.not.equal('999999');

    // A live holder: the build says who holds the lock and waits for it.
    const holder = spawn('flock', [lock, 'sleep', '4'], { stdio: 'ignore' });
    try {
      await stepDeadline(hostBudgetMs('hostCommand'), 'flock holder').sleep(500);
      const w = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), [], {}, stepDeadline(hostBudgetMs('warmBuild'), 'build behind a held lock'));
      expect(w.code, w.stderr).to.equal(0);
      expect(w.stderr).to.match(/another build \(pid .*\) holds .*\.lock; waiting/);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a comment added to one recipe file changes the keys of its artefact and of what is built on it, no others', async function () {
    const deadline = stepDeadline(hostBudgetMs('copyRecipes') + hostBudgetMs('imageKeys'), 'key derivation');
    scratch = new Scratch();
    const s = await scratch.init(deadline);
    const pristine = await s.keys(deadline);
    const real = await runBuild(join(VM_IMAGES_DIR, 'build.sh'), ['--keys'], {}, deadline);
    expect(pristine, 'a verbatim copy of vm-images/ has other keys than the original: keys depend on where the recipes are').to.deep.equal(JSON.parse(real.stdout));

    const changes: Array<[string, Array<keyof Keys>]> = [
      ['client/dracut/90ltsp-union/ltsp-union.sh', ['initramfs', 'initramfs-ltsp']],
      ['client/dracut/conf.d/10-ltsp-lab.conf', ['initramfs', 'initramfs-ltsp']],
      ['server/rootfs/etc/nbd-server/config', ['server']],
      ['client/root/Dockerfile', ['root', 'initramfs', 'initramfs-ltsp']],
      ['client/kernel/ltsp-client.config', ['kernel', 'initramfs-ltsp']],
      ['client/kernel/Dockerfile', ['kernel', 'initramfs-ltsp']],
      ['base/recipe.sh', ['base', 'server', 'root', 'initramfs', 'kernel', 'initramfs-ltsp']],
    ];
    for (const [file, expected] of changes) {
      const original = readFileSync(s.path(file));
      s.addComment(file, 'key probe');
      const changed = await s.keys(deadline);
      writeFileSync(s.path(file), original);
      const differ = (Object.keys(pristine) as Array<keyof Keys>).filter((k) => changed[k] !== pristine[k]);
      expect(differ, `after a comment in ${file}, these keys changed`).to.deep.equal(expected);
    }
    expect(await s.keys(deadline), 'the keys did not come back when the files were restored').to.deep.equal(pristine);
  });
});

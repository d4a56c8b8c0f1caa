import { closeSync, openSync, readFileSync, readSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import type { Deadline } from '../common/deadline';
import { HarnessError, SetupError, UsageError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { budgetMs } from '../common/budgets';
import type { RunContext } from '../common/run-context';
import { teardownSignal, trackStoppable } from '../common/teardown';
import type { ServedImages } from '../server/boot-files';
import { ProcessGroup } from '../qemu-ts-wrapper';
import type { BootFiles, Ltsp23Files } from '../server/boot-files';
import { CLIENT_DIMENSIONS, CLIENT_KINDS, type ClientKind, type ClientSpec, type ClientStack } from '../client/client-spec';
import { checkCachedImages, damageError, damageLine, rebuildsFor, type Rebuildable } from './cache-check';

const debug = log('images');

/** The repo's vm-images/ folder: the server stack under test. */
export const VM_IMAGES_DIR = join(repoRoot(), 'vm-images');

/** One client kind's kernel and initramfs in the image set, and the kernel's version (uname -r). */
export interface ClientImages extends BootFiles {
  kernelVersion: string;
}

/** What vm-images/build.sh produced (its manifest). */
export interface ImageManifest {
  cache: string;
  baseImage: string;
  serverImage: string;
  rootImage: string;
  rootImageTag: string;
  rootSha256: string;
  /** Each client kind the image set has (issue 20): its kernel, initramfs and kernel version, their one source. */
  clients?: Partial<Record<string, ClientImages>>;
  /** The nbd versions the set serves and boots (build.sh --nbd-server/--nbd-client); absent: the stock ones. */
  nbd?: { server: string; client: string };
  /** The ltsp23 stack's files (build.sh --stack ltsp23); absent from a set built for the k12 stack only. */
  ltsp23?: Ltsp23Images;
  /** An older build's one kernel, initramfs and version (a manifest without `clients`, e.g. ./lab bisect's revisions): the stock client's. Read through manifestClients only. */
  kernel?: string;
  initrd?: string;
  kernelVersion?: string;
  keys: Record<string, string>;
}

/** The ltsp23 stack in the manifest: LTSP's image, its kernel and initramfs, the ltsp.ipxe `ltsp ipxe` wrote. */
export interface Ltsp23Images extends Ltsp23Files, ClientImages {
  ipxe: string;
}

/** The nbd-client version an image set's initramfs files carry. */
export function manifestNbdClient(m: ImageManifest): string {
  return m.nbd?.client ?? CLIENT_DIMENSIONS.nbdClient.default;
}

/**
 * A client's kernel and initramfs from the manifest, for the whole spec: the ltsp23
 * stack's are LTSP's (ltsp23Images); an image set built with another nbd-client than a
 * k12 spec's is a SetupError (the lab builds one nbd-client version's initramfs per run:
 * its default client's).
 */
export function specImages(m: ImageManifest, spec: ClientSpec): ClientImages {
  if (spec.stack === 'ltsp23') return ltsp23Images(m);
  const has = manifestNbdClient(m);
  if (spec.nbdClient !== has) {
    throw new SetupError(`the image set carries nbd-client ${has}, not the ${spec.nbdClient} this client asks for`, {
      hint: 'every client of a lab boots one nbd-client version: give --nbd-client once, for all of them',
    });
  }
  return clientImages(m, spec.kind);
}

/** The ltsp23 stack's files; an image set without them is a set-up problem (exit 3), found before anything boots. */
export function ltsp23Images(m: ImageManifest): Ltsp23Images {
  if (m.ltsp23) return m.ltsp23;
  throw new SetupError(`the image set has no ltsp23 stack: the manifest ${join(m.cache ?? cacheDir(), 'manifest.json')} has no "ltsp23"`, {
    hint: "a lab builds it when its default client boots --stack ltsp23 (vm-images/build.sh --stack ltsp23: the lane's client root, and LTSP's ltsp image run on it)",
  });
}

/** The client kinds an image set has, with their files: its `clients`, or an older manifest's top-level files as the stock client. */
export function manifestClients(m: ImageManifest): Partial<Record<ClientKind, ClientImages>> {
  if (m.clients === undefined) {
    return m.kernel && m.initrd && m.kernelVersion ? { stock: { kernel: m.kernel, initrd: m.initrd, kernelVersion: m.kernelVersion } } : {};
  }
  const out: Partial<Record<ClientKind, ClientImages>> = {};
  for (const kind of CLIENT_KINDS) {
    const c = m.clients[kind];
    if (c) out[kind] = c;
  }
  return out;
}

/** How a newcomer gets a client kind the image set lacks. */
const HOW_TO_BUILD: Readonly<Record<ClientKind, string>> = {
  ltsp: 'vm-images/build.sh builds it (the LTSP kernel from linux-source-6.1 and its shell-based dracut initramfs): run ./lab build on a revision that has vm-images/client/kernel/, or boot Debian\'s with --client stock',
  stock: 'vm-images/build.sh builds it from the client root: run ./lab build',
};

/**
 * A client kind's kernel and initramfs from the manifest. An image set without that kind
 * is a set-up problem (exit 3) saying how to build it, found before anything boots.
 */
export function clientImages(m: ImageManifest, kind: ClientKind): ClientImages {
  const c = manifestClients(m)[kind];
  if (c) return c;
  const has = Object.keys(manifestClients(m));
  throw new SetupError(`the image set has no ${kind} client: the manifest ${join(m.cache ?? cacheDir(), 'manifest.json')} lists ${has.length ? `only ${has.join(', ')}` : 'no client kind'}`, {
    hint: HOW_TO_BUILD[kind],
  });
}

export interface BuildOptions {
  deadline: Deadline;
  /** Each progress line of the build (it also goes to the `lab:images` debug log). */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** A copy of vm-images/ to build instead (the bench's module-only rebuild). */
  dir?: string;
  /** Cached artefacts to build afresh (build.sh --rebuild). */
  rebuild?: readonly Rebuildable[];
  /** The run the build belongs to: its containers carry the run's labels, so a dead build's are reaped. */
  run?: RunContext;
  /** The nbd versions to serve and boot (build.sh --nbd-server/--nbd-client); absent: the stock ones. */
  nbd?: { server: string; client: string };
  /** A stack to build beside the k12 one (build.sh --stack ltsp23); absent or k12: the k12 stack only. */
  stack?: ClientStack;
  /**
   * Only these client kinds' kernel and initramfs (build.sh --kinds): the manifest names
   * only them and is not the cache's manifest.json. Absent: every kind.
   */
  kinds?: readonly ClientKind[];
}

/** build.sh's arguments for `opts`. */
export function buildArgs(opts: Pick<BuildOptions, 'rebuild' | 'nbd' | 'stack' | 'kinds'>): string[] {
  const kinds = CLIENT_KINDS.filter((k) => opts.kinds?.includes(k));
  return [
    ...(opts.rebuild ?? []).flatMap((a) => ['--rebuild', a]),
    ...(opts.nbd ? ['--nbd-server', opts.nbd.server, '--nbd-client', opts.nbd.client] : []),
    ...(opts.stack !== undefined && opts.stack !== CLIENT_DIMENSIONS.stack.default ? ['--stack', opts.stack] : []),
    ...(opts.kinds !== undefined && kinds.length < CLIENT_KINDS.length ? ['--kinds', kinds.join(',')] : []),
  ];
}

/** vm-images/build.sh ran and failed a step: the recipe does not build (./lab bisect skips such a revision). */
export class ImageBuildError extends SetupError {}

/** The image cache: LTSP_LAB_CACHE, default ~/.cache/ltsp-lab. */
export function cacheDir(): string {
  return process.env.LTSP_LAB_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'ltsp-lab');
}

/** A build progress line that says nothing happened (an artefact reused, the manifest written): left out of a run's output. */
export function isIdleBuildLine(line: string): boolean {
  return /: cached |manifest: done/.test(line);
}

/**
 * Whether a vm-images/build.sh takes --kinds: an older revision's (./lab bisect) does
 * not, and builds every kind instead of failing on an option it does not know.
 */
export function buildTakesKinds(script: string): boolean {
  try {
    return /^\s*--kinds\)/m.test(readFileSync(script, 'utf8'));
  } catch {
    return false;
  }
}

/** Builds (or reuses from the cache) every artefact the lab boots and serves. */
export async function buildImages(opts: BuildOptions): Promise<ImageManifest> {
  const script = join(opts.dir ?? VM_IMAGES_DIR, 'build.sh');
  const proc = await ProcessGroup.spawn({
    command: script,
    args: buildArgs(opts.kinds !== undefined && !buildTakesKinds(script) ? { ...opts, kinds: undefined } : opts),
    name: 'build',
    env: {
      ...process.env,
      ...(opts.run ? { LTSP_LAB_LABELS: Object.entries(opts.run.labels()).map(([k, v]) => `${k}=${v}`).join(' ') } : {}),
      ...opts.env,
    },
    stdin: 'ignore',
  });
  // A signal to the run stops the build with SIGTERM and waits: its EXIT trap removes
  // its containers and temp folders (a SIGKILL would leave them to ./lab clean).
  let stoppedBy: string | undefined;
  const stoppable = {
    stop: () => {
      const sig = teardownSignal();
      stoppedBy ??= `SIGTERM from the run's teardown${sig ? ` on ${sig}` : ''}`;
      return proc.terminate(budgetMs('teardown'));
    },
  };
  trackStoppable(stoppable, true);
  void proc.exited.then(() => trackStoppable(stoppable, false));
  let stdout = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const progress: string[] = [];
  let partial = '';
  proc.stderr.on('data', (c: Buffer) => {
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      progress.push(l);
      if (progress.length > 60) progress.shift();
      debug('%s', l);
      opts.onProgress?.(l);
    }
  });
  const status = await opts.deadline.race(proc.exited, () => {
    void proc.terminate(budgetMs('killGrace'));
    return new HarnessError(`the image build did not finish within ${Math.round(opts.deadline.totalMs / 1000)} s`);
  });
  if (status.code !== 0) throw buildFailure(status, stoppedBy, progress, { ...process.env, ...opts.env });
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(stdout) as ImageManifest;
  } catch {
    throw new HarnessError(`vm-images/build.sh printed no manifest: ${stdout.slice(0, 200)}`);
  }
  return manifest;
}

/** What a build's output says when its disk filled (tar, cp, mke2fs, dockerd: strerror(ENOSPC), EDQUOT). */
const OUT_OF_SPACE = /no space left on device|\bENOSPC\b|disk quota exceeded|\bEDQUOT\b/i;
/** Below this, a failed build is taken for a full disk even when its output did not get to say so. */
const BUILD_MIN_FREE_MIB = 64;

/**
 * Why build.sh exited non-zero. Only a step of the recipe that failed is an
 * ImageBuildError (./lab bisect skips such a revision): a build stopped by a signal,
 * or one whose disk filled, is the lab's or the host's, and says so in its headline.
 */
function buildFailure(status: { code: number | null; signal: NodeJS.Signals | null }, stoppedBy: string | undefined, progress: readonly string[], env: NodeJS.ProcessEnv): Error {
  const tail = progress.slice(-15).join('\n');
  // build.sh traps INT and TERM into exit 130 and 143.
  const signal = status.signal ?? (status.code === 130 ? 'SIGINT' : status.code === 143 ? 'SIGTERM' : undefined);
  if (stoppedBy !== undefined || signal !== undefined) {
    return new HarnessError(`the image build was stopped (${stoppedBy ?? `${signal} from outside the lab`})\n${tail}`, { hint: 'run again: the cache keeps every step that finished' });
  }
  const failed = (progress.filter((l) => /FAILED step/.test(l)).pop() ?? progress.slice(-1)[0] ?? '').replace(/^\[ltsp-lab build\] /, '');
  const cache = env.LTSP_LAB_CACHE ?? cacheDir();
  const free = freeMiB(cache);
  if (progress.some((l) => OUT_OF_SPACE.test(l)) || (free !== undefined && free < BUILD_MIN_FREE_MIB)) {
    const room = free === undefined ? '' : ` (${free.toFixed(0)} MiB free there now)`;
    return new SetupError(`the image build ran out of disk space: ${failed}\n${tail}`, {
      hint: `free space on the disk of the image cache ${cache}${room} and of Docker's data root (df -h), then run again; ./lab clean removes dead builds' temp folders`,
    });
  }
  return new ImageBuildError(`the image build failed: ${failed}\n${tail}`, {
    hint: 'see the build logs in the image cache (LTSP_LAB_CACHE, default ~/.cache/ltsp-lab/logs)',
  });
}

function freeMiB(dir: string): number | undefined {
  try {
    const st = statfsSync(dir);
    return (st.bavail * st.bsize) / 2 ** 20;
  } catch {
    return undefined;
  }
}

/**
 * buildImages, then the checks build.sh leaves to the harness (the root's checksum, the
 * initramfs's compressed stream, the kernel): a damaged artefact is rebuilt, with one
 * line saying so; one that a rebuild does not cure is a SetupError naming the command
 * that rebuilds it. The lab's own files are never left for the boot to trip over.
 */
export async function ensureImages(opts: BuildOptions): Promise<ImageManifest> {
  const rebuild = async (what: Rebuildable[], cause: string): Promise<ImageManifest> => {
    try {
      return await buildImages({ ...opts, rebuild: what });
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      throw new SetupError(`${cause}, and rebuilding it failed: ${e.message}`, { hint: `./lab build ${what.map((a) => `--rebuild ${a}`).join(' ')}`, cause: e });
    }
  };
  // The root, and the stock client's kernel (the root's) and initramfs when the set has
  // them (not in a build of the ltsp kind only): what the cache check knows how to rebuild.
  const checked = (m: ImageManifest) => ({ rootImage: m.rootImage, rootSha256: m.rootSha256, ...manifestClients(m).stock });
  let m = await buildImages(opts);
  const damage = await checkCachedImages(checked(m), opts.deadline);
  if (damage.length === 0) return m;
  for (const d of damage) opts.onProgress?.(damageLine(d, `rebuilding the ${d.artefact}`));
  m = await rebuild(rebuildsFor(damage), damage.map((d) => `${d.file} is damaged (${d.why})`).join('; '));
  const still = await checkCachedImages(checked(m), opts.deadline);
  if (still.length > 0) throw damageError(still);
  return m;
}

/** Each artefact's key (build.sh --keys), without building; `env` may salt them (LTSP_LAB_KEY_SALT). */
export async function imageKeys(opts: { deadline: Deadline; dir?: string; env?: NodeJS.ProcessEnv }): Promise<ImageManifest['keys']> {
  const r = await execCommand(join(opts.dir ?? VM_IMAGES_DIR, 'build.sh'), ['--keys'], { deadline: opts.deadline, env: { ...process.env, ...opts.env }, allowFailure: true });
  if (r.code !== 0) throw new SetupError(`vm-images/build.sh --keys failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  try {
    return JSON.parse(r.stdout) as ImageManifest['keys'];
  } catch {
    throw new HarnessError(`vm-images/build.sh --keys printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/** Reads the manifest of the last build, without building. */
export function readManifest(cache = cacheDir()): ImageManifest {
  try {
    return JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8')) as ImageManifest;
  } catch (e) {
    throw new SetupError(`no image manifest in ${cache}: ${(e as Error).message}`, { hint: 'run ./lab build' });
  }
}

/**
 * What a lab serves from an image set: every client kind it has, each at its own path,
 * and the default kind's files at the TFTP root too. `overrides` (Lab.withImages) replace
 * the server image, the root, and the default kind's kernel and initramfs. An image set
 * without the default kind is a set-up problem (exit 3), said before anything boots.
 */
export function servedImages(m: ImageManifest, defaultKind: ClientKind, overrides: Partial<Omit<ServedImages, 'clients'>> = {}): ServedImages {
  const own = clientImages(m, defaultKind);
  const kernel = overrides.kernel ?? own.kernel;
  const initrd = overrides.initrd ?? own.initrd;
  const clients: ServedImages['clients'] = {};
  for (const [kind, files] of Object.entries(manifestClients(m)) as [ClientKind, ClientImages][]) {
    clients[kind] = kind === defaultKind ? { kernel, initrd } : { kernel: files.kernel, initrd: files.initrd };
  }
  const lane = m.ltsp23 ? { ltsp23: { imageName: m.ltsp23.imageName, image: m.ltsp23.image, kernel: m.ltsp23.kernel, initrd: m.ltsp23.initrd } } : {};
  return { serverImage: overrides.serverImage ?? m.serverImage, rootImage: overrides.rootImage ?? m.rootImage, kernel, initrd, clients, ...lane };
}

/** Checks that what a lab is about to serve exists and is what it claims to be. */
export async function checkServedImages(images: ServedImages, deadline: Deadline): Promise<void> {
  const kinds = CLIENT_KINDS.flatMap((k) => {
    const f = images.clients[k];
    return f ? [[`${k} client's kernel`, f.kernel], [`${k} client's initramfs`, f.initrd]] as const : [];
  });
  for (const [what, path] of [
    ['root image', images.rootImage],
    ['kernel', images.kernel],
    ['initramfs', images.initrd],
    ...kinds,
    ...(images.ltsp23 ? ([['ltsp23 image', images.ltsp23.image], ['ltsp23 kernel', images.ltsp23.kernel], ['ltsp23 initramfs', images.ltsp23.initrd]] as const) : []),
  ] as const) {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new UsageError(`the ${what} ${path} does not exist or is unreadable`, { hint: 'run ./lab build, or fix the path you gave' });
    }
    if (size === 0) throw new UsageError(`the ${what} ${path} is empty`);
  }
  if (!isExt4Image(images.rootImage)) {
    throw new UsageError(`the root image ${images.rootImage} is not an ext4 filesystem`, {
      hint: 'the NBD root must be a bare ext4 image (no partition table), as vm-images/build.sh makes it',
    });
  }
  const has = await execCommand('docker', ['image', 'inspect', images.serverImage], { deadline, allowFailure: true });
  if (has.code !== 0) {
    throw new SetupError(`the server image ${images.serverImage} is not in docker`, { hint: 'run ./lab build (no registry is reachable: images are built here)' });
  }
}

/** ext4's superblock magic 0xEF53 sits at byte 1080 (little endian); only that is read. */
export function isExt4Image(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(2);
    return readSync(fd, buf, 0, 2, 1080) === 2 && buf[0] === 0x53 && buf[1] === 0xef;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

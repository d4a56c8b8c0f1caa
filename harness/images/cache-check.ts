import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Deadline } from '../common/deadline';
import { SetupError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';

const debug = log('images');

/** The cached artefacts build.sh can rebuild on request (`--rebuild NAME`). */
export type Rebuildable = 'root' | 'initramfs';

/** What is wrong with one cached artefact. */
export interface Damage {
  artefact: Rebuildable;
  file: string;
  why: string;
}

/** What the checks read of a manifest: the root, and the stock client's files when the set has them. */
export interface CheckedFiles {
  rootImage: string;
  rootSha256: string;
  kernel?: string;
  initrd?: string;
}

/**
 * A check's verdict is kept for as long as the file is the same inode with the same
 * size, mtime and ctime: so the root is hashed once per run, however many labs the run
 * starts, and again as soon as anything wrote to it (ctime cannot be set back).
 */
const verdicts = new Map<string, Promise<string | undefined>>();

function remembered(path: string, check: string, run: () => Promise<string | undefined>): Promise<string | undefined> {
  let sig: string;
  try {
    const st = statSync(path, { bigint: true });
    sig = `${check} ${path} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`;
  } catch {
    return Promise.resolve('it is missing');
  }
  let v = verdicts.get(sig);
  if (!v) {
    v = run();
    verdicts.set(sig, v);
    v.catch(() => verdicts.delete(sig));
  }
  return v;
}

/** The file's SHA-256, by sha256sum (a child process: 1 GB would hold this thread for seconds). */
export async function sha256File(path: string, deadline: Deadline): Promise<string> {
  const r = await execCommand('sha256sum', ['--', path], { deadline });
  return r.stdout.slice(0, 64);
}

/** The root image's hash against the one recorded when it was built. */
export function checkRootHash(path: string, expected: string, deadline: Deadline): Promise<string | undefined> {
  return remembered(path, `sha256=${expected}`, async () => {
    const t0 = performance.now();
    const got = await sha256File(path, deadline);
    debug('sha256 of %s in %d ms', path, Math.round(performance.now() - t0));
    return got === expected ? undefined : `its sha256 is ${got.slice(0, 12)}…, ${expected.slice(0, 12)}… when it was built`;
  });
}

/** Compressed-stream magics of the formats dracut can write, and the tool that tests each. */
const STREAM_TESTS: { magic: number[]; format: string; test: string[] }[] = [
  { magic: [0x1f, 0x8b], format: 'gzip', test: ['gzip', '-t'] },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], format: 'zstd', test: ['zstd', '-tq'] },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], format: 'xz', test: ['xz', '-t'] },
  { magic: [0x42, 0x5a, 0x68], format: 'bzip2', test: ['bzip2', '-t'] },
  { magic: [0x02, 0x21, 0x4c, 0x18], format: 'lz4', test: ['lz4', '-t'] },
];
/** An uncompressed cpio ("070701"): no stream to test. */
const CPIO_MAGIC = Buffer.from('070701');

function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The initramfs's compressed stream, tested end to end by its own tool (gzip -t and kin). */
export function checkInitrdStream(path: string, deadline: Deadline): Promise<string | undefined> {
  return remembered(path, 'stream', async () => {
    const magic = head(path, 8);
    if (magic.subarray(0, CPIO_MAGIC.length).equals(CPIO_MAGIC)) return undefined;
    const kind = STREAM_TESTS.find((t) => t.magic.every((b, i) => magic[i] === b));
    if (!kind) return `it is neither a cpio archive nor a compressed stream dracut writes (starts ${magic.toString('hex')})`;
    const [cmd, ...args] = kind.test as [string, ...string[]];
    const r = await execCommand(cmd, [...args, '--', path], { deadline, allowFailure: true });
    if (r.code === 0) return undefined;
    return `${kind.format} -t: ${(r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`).replace(`${path}: `, '')}`;
  });
}

/** Checks every cached artefact a boot uses; resolves to what is damaged (empty: all sound). */
export async function checkCachedImages(files: CheckedFiles, deadline: Deadline): Promise<Damage[]> {
  const kernel = (async (): Promise<string | undefined> => {
    if (files.kernel === undefined) return undefined;
    try {
      return statSync(files.kernel).size > 0 ? undefined : 'it is empty';
    } catch {
      return 'it is missing';
    }
  })();
  const [root, initrd, vmlinuz] = await Promise.all([
    checkRootHash(files.rootImage, files.rootSha256, deadline),
    files.initrd === undefined ? undefined : checkInitrdStream(files.initrd, deadline),
    kernel,
  ]);
  const out: Damage[] = [];
  if (root) out.push({ artefact: 'root', file: files.rootImage, why: root });
  if (vmlinuz) out.push({ artefact: 'root', file: files.kernel!, why: vmlinuz });
  if (initrd) out.push({ artefact: 'initramfs', file: files.initrd!, why: initrd });
  return out;
}

/** The artefacts to rebuild for these damages, each once. */
export function rebuildsFor(damage: readonly Damage[]): Rebuildable[] {
  return [...new Set(damage.map((d) => d.artefact))];
}

/** The one line that says an artefact is damaged and what happens to it. */
export function damageLine(d: Damage, action: string): string {
  return `lab: ${d.file} is damaged (${d.why}): ${action}`;
}

/** Damage that a rebuild did not cure: the lab's own files, so a set-up problem, with the command that rebuilds them. */
export function damageError(damage: readonly Damage[], cause?: unknown): SetupError {
  const list = damage.map((d) => `${d.file} (${d.why})`).join('; ');
  return new SetupError(`the image cache is damaged and could not be healed: ${list}`, {
    hint: `./lab build ${rebuildsFor(damage).map((a) => `--rebuild ${a}`).join(' ')}`,
    ...(cause === undefined ? {} : { cause }),
  });
}

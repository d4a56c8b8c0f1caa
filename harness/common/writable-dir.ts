import { mkdirSync, realpathSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SetupError, UsageError } from './errors';

/** Why a folder cannot be used, said to the caller's error (its class decides the exit code). */
export type DirFailure = (reason: string) => never;

/** statfs(2) magic numbers of the kernel's pseudo filesystems (linux/magic.h): no place for files of ours. */
const PSEUDO_FS: Readonly<Record<number, string>> = {
  0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs',
  0x73636673: 'securityfs', 0x74726163: 'tracefs', 0x62656570: 'configfs', 0x1cd1: 'devpts', 0xcafe4a11: 'bpf',
  0x6165676c: 'pstore', 0xde5e81e4: 'efivarfs', 0x19800202: 'mqueue', 0x6e736673: 'nsfs', 0x65735543: 'fusectl',
  0xf97cff8c: 'selinuxfs', 0x42494e4d: 'binfmt_misc',
};

/** The folder itself if it exists, else its nearest existing parent. */
function nearestExisting(abs: string): string {
  let p = abs;
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/**
 * Refuses a folder under /proc or /sys, or on any other kernel pseudo filesystem (also
 * through a symlink): mkdir there fails in ways that make Node's recursive mkdir spin.
 */
export function refusePseudoFs(dir: string, fail: DirFailure): void {
  const abs = resolve(dir);
  const existing = nearestExisting(abs);
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    /* unreadable: statfs below still says what it is */
  }
  for (const top of ['/proc', '/sys']) {
    for (const p of [abs, real]) if (p === top || p.startsWith(`${top}/`)) fail(`it is under ${top}, a kernel pseudo filesystem, not a folder for files`);
  }
  let type: number | undefined;
  try {
    type = Number(statfsSync(existing).type);
  } catch {
    return; // mkdir or the write probe says why
  }
  const name = PSEUDO_FS[type];
  if (name !== undefined) fail(`${existing} is on ${name}, a kernel pseudo filesystem, not a folder for files`);
}

/**
 * Creates `dir` and its missing parents one level at a time (Node's recursive mkdir
 * spins forever on some pseudo filesystems, e.g. under /proc, deaf to signals: its loop
 * is synchronous), then proves it writable with a probe file.
 */
export function writableDirLevels(dir: string, fail: DirFailure): string {
  return makeLevels(dir, fail).abs;
}

/** writableDirLevels, saying which folders it made; on a failure it removes them again. */
function makeLevels(dir: string, fail: DirFailure): { abs: string; made: string[] } {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch {
      missing.unshift(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
      continue;
    }
    if (!st.isDirectory()) fail(`${p} is not a folder`);
    break;
  }
  try {
    for (const m of missing) mkdirSync(m);
    const probe = join(abs, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    for (const m of [...missing].reverse()) removeIfEmpty(m);
    const code = (e as NodeJS.ErrnoException).code;
    fail(`it is not writable (${code ?? (e as Error).message}${code === 'EROFS' ? ': a read-only file system' : ''})`);
  }
  return { abs, made: missing };
}

/**
 * Creates `dir` (and missing parents) and proves it writable with a probe file, or
 * throws a UsageError naming it.
 */
export function ensureWritableDir(dir: string, what: string): string {
  const abs = resolve(dir);
  const fail = usageFailure(abs, what);
  refusePseudoFs(abs, fail);
  return writableDirLevels(abs, fail);
}

/**
 * Proves `dir` can be made and written as ensureWritableDir does, then removes what it
 * made: a run creates its report folder when it has something to put in it, so a run
 * killed before then leaves no empty folder behind.
 */
export function checkWritableDir(dir: string, what: string): string {
  const abs = resolve(dir);
  const fail = usageFailure(abs, what);
  refusePseudoFs(abs, fail);
  const { made } = makeLevels(abs, fail);
  for (const m of [...made].reverse()) removeIfEmpty(m);
  return abs;
}

function usageFailure(abs: string, what: string): DirFailure {
  return (reason) => {
    throw new UsageError(`cannot write the ${what} ${abs}: ${reason}`, { hint: 'give a writable folder' });
  };
}

/** Removes `dir` if it is empty (a run that failed before writing anything to it). */
export function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty, or gone */
  }
}

/**
 * Fails up front, as a SetupError naming the folder, when its filesystem has less than
 * `mib` MiB free: cheaper than a run that fills the disk half-way through its logs.
 */
export function checkFreeSpace(dir: string, mib: number, what: string): void {
  // A folder not made yet is on its nearest existing parent's filesystem.
  const st = statfsSync(nearestExisting(resolve(dir)));
  const free = (st.bavail * st.bsize) / 2 ** 20;
  if (free < mib) {
    throw new SetupError(`the ${what} ${dir} has ${free.toFixed(1)} MiB free; a run needs at least ${mib} MiB for its logs and report`, {
      hint: 'free some space there, or give --report a folder on a disk with room',
    });
  }
}

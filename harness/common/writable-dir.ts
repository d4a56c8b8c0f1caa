import { existsSync, mkdirSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SetupError, UsageError } from './errors';

/**
 * Creates `dir` (and missing parents) and proves it writable with a probe file, or
 * throws a UsageError naming it. One level at a time: Node's recursive mkdir spins
 * forever on some pseudo filesystems (e.g. under /proc).
 */
export function ensureWritableDir(dir: string, what: string): string {
  return makeWritableDir(dir, what).abs;
}

/**
 * Proves `dir` can be made and written as ensureWritableDir does, then removes what it
 * made: a run creates its report folder when it has something to put in it, so a run
 * killed before then leaves no empty folder behind.
 */
export function checkWritableDir(dir: string, what: string): string {
  const { abs, made } = makeWritableDir(dir, what);
  for (const m of [...made].reverse()) removeIfEmpty(m);
  return abs;
}

function makeWritableDir(dir: string, what: string): { abs: string; made: string[] } {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) throw new UsageError(`the ${what} ${abs} cannot be made: ${p} is not a folder`);
      break;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      missing.unshift(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
  }
  try {
    for (const m of missing) mkdirSync(m);
    const probe = join(abs, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    for (const m of [...missing].reverse()) removeIfEmpty(m);
    throw new UsageError(`cannot write the ${what} ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: `give a writable folder`,
    });
  }
  return { abs, made: missing };
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
  let on = resolve(dir);
  while (!existsSync(on) && dirname(on) !== on) on = dirname(on);
  const st = statfsSync(on);
  const free = (st.bavail * st.bsize) / 2 ** 20;
  if (free < mib) {
    throw new SetupError(`the ${what} ${dir} has ${free.toFixed(1)} MiB free; a run needs at least ${mib} MiB for its logs and report`, {
      hint: 'free some space there, or give --report a folder on a disk with room',
    });
  }
}

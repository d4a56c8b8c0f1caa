import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors';

/**
 * Creates `dir` (and missing parents) and proves it writable with a probe file, or
 * throws a UsageError naming it. One level at a time: Node's recursive mkdir spins
 * forever on some pseudo filesystems (e.g. under /proc).
 */
export function ensureWritableDir(dir: string, what: string): string {
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
    throw new UsageError(`cannot write the ${what} ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: `give a writable folder`,
    });
  }
  return abs;
}

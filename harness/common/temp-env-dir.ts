import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'mocha';

/**
 * For unit tests: a fresh temp folder in `envVar` for each test of the calling suite, the
 * variable restored and the folder removed after it. Returns the current folder.
 */
export function useTempEnvDir(envVar: string, prefix: string): () => string {
  const saved = process.env[envVar];
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    process.env[envVar] = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[envVar];
    else process.env[envVar] = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

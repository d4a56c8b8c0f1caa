import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The log files a lab writes in its report folder: the server's, and each client's console and QMP logs. */
function labLogs(labDir: string): string[] {
  if (!existsSync(labDir)) return [];
  const out: string[] = [];
  if (existsSync(join(labDir, 'server.log'))) out.push('server.log');
  for (const name of readdirSync(labDir)) {
    const dir = join(labDir, name);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of ['console.log', 'qmp.log']) if (existsSync(join(dir, f))) out.push(join(name, f));
  }
  return out;
}

/**
 * Gives each test its own copy of the logs of a lab it shares with its suite: what
 * each log got since the previous test's cut (from the file's start for the first, so
 * the boot in a suite's `before` goes to its first test). The suite's whole logs stay
 * where the lab wrote them.
 */
export class LogSlicer {
  private readonly given = new Map<string, number>();

  /**
   * Copies what each log under `labDir` got since the last cut into the same relative
   * path under `testDir`; returns those relative paths (only the logs that grew).
   */
  cut(labDir: string, testDir: string): string[] {
    const copied: string[] = [];
    for (const rel of labLogs(labDir)) {
      const src = join(labDir, rel);
      const from = this.given.get(src) ?? 0;
      const size = statSync(src).size;
      if (size <= from) continue;
      const buf = Buffer.alloc(size - from);
      const fd = openSync(src, 'r');
      try {
        readSync(fd, buf, 0, buf.length, from);
      } finally {
        closeSync(fd);
      }
      const dest = join(testDir, rel);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, buf);
      this.given.set(src, size);
      copied.push(rel);
    }
    return copied;
  }
}

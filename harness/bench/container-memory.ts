import type { Deadline } from '../common/deadline';
import { execCommand } from '../common/exec';

const UNITS: Record<string, number> = {
  b: 1 / 1024 ** 2,
  kib: 1 / 1024,
  kb: 1000 / 1024 ** 2,
  mib: 1,
  mb: 1000 ** 2 / 1024 ** 2,
  gib: 1024,
  gb: 1000 ** 3 / 1024 ** 2,
};

/** docker stats' MemUsage ("132.7MiB / 23.54GiB") → the usage in MiB, or undefined. */
export function parseMemUsage(text: string): number | undefined {
  const m = /^\s*([\d.]+)\s*([kmg]i?b|b)\b/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[(m[2] as string).toLowerCase()];
  const n = Number(m[1]);
  return unit === undefined || !Number.isFinite(n) ? undefined : n * unit;
}

/**
 * A container's memory as `docker stats` counts it (cgroup usage less inactive page
 * cache), in MiB.
 */
export async function containerMemoryMib(id: string, deadline: Deadline): Promise<number | undefined> {
  const r = await execCommand('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', id], { deadline, allowFailure: true });
  return r.code === 0 ? parseMemUsage(r.stdout) : undefined;
}

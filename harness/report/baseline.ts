import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FIXTURES_DIR, repoRoot } from '../common/paths';
import { clientKey, storedClientSpec, type ClientSpec } from '../client/client-spec';
import type { BaselineFacts } from './types';

/** fixtures/baselines/: the boot-time baselines `./lab baseline --update` writes (harness/gate owns the format). */
export const BASELINES_DIR = join(FIXTURES_DIR, 'baselines');

/**
 * A baseline's profile: the host's accelerator and core count, and what the clients boot,
 * e.g. 'tcg-2cpu-ltsp'. Each client kind has its own baseline: a stock client's boots
 * are never judged against an ltsp client's.
 */
export function baselineProfile(host: { accel: string; cores: number }, client: ClientSpec): string {
  return `${host.accel}-${host.cores}cpu-${clientKey(client)}`;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/**
 * The baseline of `profile` as the report draws it, or undefined when there is none or
 * it cannot be read. Read defensively: the file is another tool's, and a report must
 * not fail on it; a stage without a usable median is left out.
 */
export function readBaseline(profile: string, dir = process.env.LTSP_LAB_BASELINES ?? BASELINES_DIR): BaselineFacts | undefined {
  const file = join(dir, `${profile}.json`);
  if (!existsSync(file)) return undefined;
  let data: Record<string, unknown> | undefined;
  try {
    data = obj(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
  const stages = obj(data?.stages);
  if (!data || !stages) return undefined;
  const out: BaselineFacts = {
    profile,
    file: relative(repoRoot(), file),
    stages: Object.entries(stages).flatMap(([stage, v]) => {
      const median = obj(v)?.medianMs;
      return isNum(median) ? [{ stage, medianMs: median }] : [];
    }),
  };
  const client = obj(data.config)?.client;
  const spec = storedClientSpec(client);
  if (spec) out.client = spec;
  if (Number.isInteger(data.runs) && isNum(data.runs)) out.runs = data.runs;
  if (typeof data.createdAt === 'string') out.createdAt = data.createdAt;
  if (isNum(data.speedFactor)) out.speedFactor = data.speedFactor;
  const total = obj(data.totalMs)?.medianMs;
  if (isNum(total)) out.totalMs = total;
  return out;
}

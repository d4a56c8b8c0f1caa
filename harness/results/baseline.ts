import { join } from 'node:path';
import { FIXTURES_DIR } from '../common/paths';
import { clientKey, type ClientSpec } from '../client/client-spec';

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

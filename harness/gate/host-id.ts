import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * This machine, as a baseline records it: a hash of machine-id(5) (the host name where
 * there is none), so a baseline kept in the repo names no machine. The gate judges a
 * baseline recorded here at its full sensitivity, and one from any other host with the
 * allowance for a host other than the baseline's (policy.ts, otherHostRel).
 */
export function hostId(machineIdFile = '/etc/machine-id'): string {
  let id: string;
  try {
    id = readFileSync(machineIdFile, 'utf8').trim();
  } catch {
    id = '';
  }
  return createHash('sha256').update(id || `hostname:${hostname()}`).digest('hex').slice(0, 16);
}

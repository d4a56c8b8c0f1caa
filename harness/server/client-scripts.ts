import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../common/run-context';

/**
 * Where a run keeps its clients' iPXE scripts on the host: bind-mounted read-only into
 * the server at /srv/tftp/clients, so a client's script is in place before the server
 * (or the client) has started. Inside the run's state folder, removed with it.
 */
export function clientScriptsDir(run: RunContext): string {
  const dir = join(run.stateDir, 'ipxe-clients');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** A client's own iPXE script, served as clients/<mac>.ipxe (boot.ipxe chains it). */
export function writeClientScript(run: RunContext, mac: string, script: string): string {
  const file = join(clientScriptsDir(run), `${mac.toLowerCase().replace(/:/g, '-')}.ipxe`);
  writeFileSync(file, script, { mode: 0o644 });
  return file;
}

/**
 * The script for a client the lab wrote none for (a MAC it does not know), served as
 * clients/default.ipxe: boot.ipxe falls back to it. Written by the harness from the same
 * kernel command line builder as every client's, so the stack's image holds no copy of it.
 */
export function writeDefaultScript(run: RunContext, script: string): string {
  const file = join(clientScriptsDir(run), 'default.ipxe');
  writeFileSync(file, script, { mode: 0o644 });
  return file;
}

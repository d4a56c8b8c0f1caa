import { UsageError } from '../common/errors';

/**
 * Which nbd-server the lab's server runs (issue 24, docs/nbd-grid.md): the server's side
 * of "what this client boots". Each version is built by vm-images/build.sh --nbd-server
 * (vm-images/nbd/versions.sh lists the same values; nbd-versions.test.ts keeps them equal).
 */
export const NBD_SERVER_DIMENSION = {
  values: ['3.21', '3.24', '3.26', '3.27', 'oldstyle'],
  default: '3.24',
  option: '--nbd-server',
  about: {
    '3.21': "bullseye's nbd-server, its binary package with bullseye's loader and libraries",
    '3.24': "bookworm's own nbd-server (the stock one)",
    '3.26': "trixie's nbd 3.26.1, built here from its Debian source package",
    '3.27': "sid's nbd-server, its binary package with sid's loader and libraries",
    oldstyle: "bookworm's nbdkit --oldstyle on port 2000, no export names: an LTSP5-era server",
  },
} as const;

export type NbdServerVersion = (typeof NBD_SERVER_DIMENSION)['values'][number];

/** The port the old-style server listens on (vm-images/nbd/versions.sh's NBD_OLDSTYLE_PORT). */
export const NBD_OLDSTYLE_PORT = 2000;

/** Reads --nbd-server's value: a UsageError (exit 2) names the known ones. */
export function parseNbdServer(raw: string): NbdServerVersion {
  const d = NBD_SERVER_DIMENSION;
  if (!(d.values as readonly string[]).includes(raw)) {
    throw new UsageError(`${d.option} '${raw}' is not one of ${d.values.join(', ')}`, {
      hint: d.values.map((v) => `${v}: ${d.about[v]}`).join('; '),
    });
  }
  return raw as NbdServerVersion;
}

/** The port a client reaches this server's export on. */
export function nbdServerPort(v: NbdServerVersion): number {
  return v === 'oldstyle' ? NBD_OLDSTYLE_PORT : 10809;
}

/**
 * The root argument a client of this server is booted with by default: the lab's own
 * (undefined) for a named export, and for the old-style server the LTSP5-era form
 * naming the port (docs/root-arguments.md: dracut then asks for no export name).
 */
export function defaultRootArgFor(v: NbdServerVersion): string | undefined {
  return v === 'oldstyle' ? `root=nbd:{server}:${NBD_OLDSTYLE_PORT}:ext4:ro` : undefined;
}

/** One line per version, for usage texts. */
export function describeNbdServers(indent = '  '): string {
  const d = NBD_SERVER_DIMENSION;
  const width = Math.max(...d.values.map((v) => v.length));
  return d.values.map((v) => `${indent}${v.padEnd(width)}  ${d.about[v]}${v === d.default ? ' (default)' : ''}`).join('\n');
}

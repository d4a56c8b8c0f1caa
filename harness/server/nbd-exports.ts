import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/** The nbd-server configuration in the server image (vm-images/server/rootfs), as nbd-server reads it. */
export const NBD_CONFIG = '/etc/nbd-server/config';

/**
 * The export names an nbd-server(5) configuration declares: every [section] but
 * [generic], with the `includedir` it names (in [generic]) if any.
 */
export function nbdConfigExports(text: string): { exports: string[]; includedir?: string } {
  const names: string[] = [];
  let section: string | undefined;
  let includedir: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = (head[1] as string).trim();
      if (section !== 'generic') names.push(section);
      continue;
    }
    const include = /^includedir\s*=\s*(\S+)$/.exec(line);
    if (section === 'generic' && include) includedir = include[1];
  }
  return { exports: names, ...(includedir === undefined ? {} : { includedir }) };
}

/**
 * The exports the lab's nbd-server offers, read from where the server image is made
 * (`rootfs`: vm-images/server/rootfs) plus files put into the container before it
 * starts (a test's conf.d export): the same files the server reads, so the names are
 * known before any image is built or container started. nbd-server reads every file of
 * the includedir whose name ends in .conf.
 */
export function serverExports(rootfs: string, extra: readonly { target: string; content: string }[] = []): string[] {
  const inImage = (target: string): string | undefined => {
    try {
      return readFileSync(join(rootfs, target), 'utf8');
    } catch {
      return undefined;
    }
  };
  const extraOf = (target: string): string | undefined => extra.find((f) => posix.normalize(f.target) === target)?.content;
  const config = extraOf(NBD_CONFIG) ?? inImage(NBD_CONFIG) ?? '';
  const { exports: offered, includedir } = nbdConfigExports(config);
  if (includedir === undefined) return offered;
  const dir = posix.normalize(includedir);
  const names = new Set<string>();
  try {
    for (const n of readdirSync(join(rootfs, dir))) names.add(n);
  } catch {
    // no such folder in the image: only the extra files
  }
  for (const f of extra) if (posix.dirname(posix.normalize(f.target)) === dir) names.add(posix.basename(f.target));
  for (const n of [...names].filter((n) => n.endsWith('.conf')).sort()) {
    offered.push(...nbdConfigExports(extraOf(posix.join(dir, n)) ?? inImage(posix.join(dir, n)) ?? '').exports);
  }
  return offered;
}

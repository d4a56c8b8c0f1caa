import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import { NBD_PORT, ROOT_EXPORT, SERVED_ROOT_IMAGE } from './boot-files';

/**
 * The shell in vm-images/ states what boot-files.ts states (the root export's name, where
 * its image sits, nbd-server's port) without a generated file: a change to the image
 * recipe makes a new image key and a rebuild, so the facts stay in both and this test
 * holds them equal.
 */
const VM = join(repoRoot(), 'vm-images');
const read = (path: string): string => readFileSync(join(VM, path), 'utf8');

/** nbd-server(5)'s config: each [section]'s key = value pairs, comments dropped. */
function nbdSections(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const head = /^\[(.+)\]$/.exec(line);
    if (head) out.set((head[1] as string).trim(), (current = new Map()));
    const kv = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current.set(kv[1] as string, (kv[2] as string).trim());
  }
  return out;
}

describe('served facts: boot-files.ts and the shell that serves them agree', () => {
  const config = nbdSections(read('server/rootfs/etc/nbd-server/config'));

  it(`nbd-server's config: [generic] port is NBD_PORT (${NBD_PORT})`, () => {
    expect(config.get('generic')?.get('port')).to.equal(String(NBD_PORT));
  });

  it(`nbd-server's config: the [${ROOT_EXPORT}] export serves SERVED_ROOT_IMAGE (${SERVED_ROOT_IMAGE})`, () => {
    expect(config.get(ROOT_EXPORT)?.get('exportname')).to.equal(SERVED_ROOT_IMAGE);
  });

  it("ltsp-server-config checks the root image where it is served", () => {
    expect(read('server/rootfs/usr/local/sbin/ltsp-server-config')).to.match(new RegExp(`^ROOT_IMAGE=\\$FS${SERVED_ROOT_IMAGE.replaceAll('.', '\\.')}$`, 'm'));
  });

  it("ltsp-server-ready waits for nbd-server's port and names the export", () => {
    const ready = read('server/rootfs/usr/local/sbin/ltsp-server-ready');
    // The port is NBD_PORT unless the old-style server (nbdkit --oldstyle) serves it on its own port.
    expect(ready).to.contain(`nbd_port=$(NBD_PORT=${NBD_PORT}; `);
    expect(ready).to.contain('listening tcp "$nbd_port" || listening tcp6 "$nbd_port"');
    expect(ready).to.contain(`:$nbd_port export=${ROOT_EXPORT}"`);
  });

  it("ltsp-nbd-persist's default port (root=nbd:SERVER:EXPORT) is NBD_PORT", () => {
    expect(read('client/dracut/90ltsp-union/ltsp-nbd-persist.sh')).to.match(new RegExp(`^\\s*port=${NBD_PORT}; export_name=\\$field$`, 'm'));
  });
});

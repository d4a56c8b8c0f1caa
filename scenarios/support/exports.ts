import type { ServerFile } from '../../harness/index';

/*
 * Exports a scenario adds to the server (Lab.withServerFiles, an nbd-server conf.d file
 * each; nbd-server(5)), written once here for every scenario that uses them.
 */

/** The root image again, writable by copy-on-write: a connection's writes go to a diff file of its own (cowdir), the image stays untouched. */
export const ROOT_COW = {
  name: 'root-cow',
  conf: `# a writable contrast to root: the same image, copy-on-write
[root-cow]
	exportname = /srv/ltsp/root.ext4
	copyonwrite = true
	cowdir = /tmp
	authfile = /etc/nbd-server/allow
`,
};

/** A plain writable export of a scratch file (made with scratchCommand once the server runs): writes go to the file itself. */
export const SCRATCH = {
  name: 'scratch',
  file: '/srv/scratch.img',
  mb: 16,
  conf: `# a plain writable export of a scratch file
[scratch]
	exportname = /srv/scratch.img
	authfile = /etc/nbd-server/allow
`,
};

/** The server command that makes SCRATCH's file, for nbd-server's user. */
export const SCRATCH_COMMAND = `truncate -s ${SCRATCH.mb}M ${SCRATCH.file} && chown nbd:nbd ${SCRATCH.file}`;

/** The server files that add these exports. */
export function exportFiles(...exports: { name: string; conf: string }[]): ServerFile[] {
  return exports.map((x) => ({ target: `/etc/nbd-server/conf.d/${x.name}.conf`, content: x.conf }));
}

import { CLIENT_KINDS, type ClientKind } from '../client/client-spec';
import { NBD_DEFAULT_PORT } from '../nbd/nbd-protocol';

/**
 * The NBD export the clients' root is served as: the [root] section of
 * vm-images/server/rootfs/etc/nbd-server/config (served-facts.test.ts holds the shell to these).
 */
export const ROOT_EXPORT = 'root';

/** Where the server holds the clients' root image: that export's exportname, ltsp-server-config's ROOT_IMAGE. */
export const SERVED_ROOT_IMAGE = '/srv/ltsp/root.ext4';

/** The port nbd-server listens on (IANA's for NBD): [generic] port in its config, ltsp-nbd-persist's default. */
export const NBD_PORT = NBD_DEFAULT_PORT;

/** The server's TFTP root, which busybox httpd serves too (vm-images/server: LAB_TFTP_ROOT in ltsp-server-config). */
export const TFTP_ROOT = '/srv/tftp';

/** A kernel and its initramfs, as files on the host. */
export interface BootFiles {
  kernel: string;
  initrd: string;
}

/**
 * Where the server serves a client kind's kernel and initramfs, relative to its TFTP and
 * HTTP root: each kind in a folder of its own, so clients of two kinds boot from one lab.
 * The iPXE script (boot/kernel-args.ts clientScript) asks for these, the server container
 * (ltsp-server.ts) bind-mounts them: one source for both.
 */
export function servedBootPaths(kind: ClientKind): BootFiles {
  return { kernel: `boot/${kind}/vmlinuz`, initrd: `boot/${kind}/initrd.img` };
}

/**
 * The files at the TFTP root itself (vmlinuz, initrd.img): the lab's default kind's.
 * ltsp-server-config refuses to start without them, and a client of a MAC the lab wrote
 * no script for boots them.
 */
export const ROOT_BOOT_PATHS: BootFiles = { kernel: 'vmlinuz', initrd: 'initrd.img' };

/**
 * The ltsp23 lane's files (vm-images/ltsp23): what LTSP 23's `ltsp image` and `ltsp kernel`
 * made of the lane's client root, and the name LTSP gives the image (its chroot's folder).
 */
export interface Ltsp23Files extends BootFiles {
  imageName: string;
  /** The squashfs of the client root, the NBD export named imageName. */
  image: string;
}

/**
 * Where LTSP 23 keeps an image's files on its server (ltsp(8): BASE_DIR /srv/ltsp,
 * TFTP_DIR /srv/tftp), relative to the TFTP and HTTP root for the kernel, initramfs and
 * the ltsp.img `ltsp initrd` writes at the server's start (ltsp-server-config). The
 * server bind-mounts the image's files there, the client's iPXE script asks for them.
 */
export function ltsp23ServedPaths(imageName: string): { image: string; kernel: string; initrd: string; ltspImg: string } {
  return { image: `/srv/ltsp/images/${imageName}.img`, kernel: `ltsp/${imageName}/vmlinuz`, initrd: `ltsp/${imageName}/initrd.img`, ltspImg: 'ltsp/ltsp.img' };
}

/** What the server serves: its image, and the artefacts it bind-mounts read-only. */
export interface ServedImages {
  serverImage: string;
  rootImage: string;
  /** The lab's default client kind's kernel, also served at the TFTP root (ROOT_BOOT_PATHS). */
  kernel: string;
  initrd: string;
  /** Each client kind's kernel and initramfs the image set has, served at servedBootPaths(kind). */
  clients: Partial<Record<ClientKind, BootFiles>>;
  /** The ltsp23 lane's image, kernel and initramfs, when the image set has them. */
  ltsp23?: Ltsp23Files;
}

/** The server's read-only bind mounts of the images: the root, and each kind's kernel and initramfs. */
export function servedMounts(images: ServedImages): { source: string; target: string; mode: 'ro' }[] {
  const at = (path: string): string => `${TFTP_ROOT}/${path}`;
  const mounts = [
    { source: images.rootImage, target: SERVED_ROOT_IMAGE, mode: 'ro' as const },
    { source: images.kernel, target: at(ROOT_BOOT_PATHS.kernel), mode: 'ro' as const },
    { source: images.initrd, target: at(ROOT_BOOT_PATHS.initrd), mode: 'ro' as const },
  ];
  for (const kind of CLIENT_KINDS) {
    const files = images.clients[kind];
    if (!files) continue;
    const paths = servedBootPaths(kind);
    mounts.push({ source: files.kernel, target: at(paths.kernel), mode: 'ro' }, { source: files.initrd, target: at(paths.initrd), mode: 'ro' });
  }
  if (images.ltsp23) {
    const paths = ltsp23ServedPaths(images.ltsp23.imageName);
    mounts.push(
      { source: images.ltsp23.image, target: paths.image, mode: 'ro' },
      { source: images.ltsp23.kernel, target: at(paths.kernel), mode: 'ro' },
      { source: images.ltsp23.initrd, target: at(paths.initrd), mode: 'ro' },
    );
  }
  return mounts;
}

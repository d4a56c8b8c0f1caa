import type { UnionMethod } from '../client/client-spec';

/**
 * What tells the dracut module which union to lay (its ltsp-union-method.sh reads them):
 * the default keeps the seed's own rd.unionfs=1, so the default client's command line is
 * what it always was; another method is named (rd.ltsp.union=, which wins over rd.unionfs).
 * union-method.test.ts runs the module's shell on each.
 */
export const UNION_ARGS: Readonly<Record<UnionMethod, readonly string[]>> = {
  'unionfs-fuse': ['rd.unionfs=1'],
  overlayfs: ['rd.ltsp.union=overlayfs'],
  none: [],
};

/**
 * Where a union's branches sit in the client (ltsp-union.sh mounts them under /run, which
 * the new root keeps): the read-only NBD root, and the tmpfs folder that takes the writes
 * (unionfs-fuse's RW branch is the tmpfs itself; overlayfs's upperdir is a folder of it,
 * beside its workdir). union-method.test.ts checks them against the module's mounts.
 */
export const UNION_BRANCHES: Readonly<Record<Exclude<UnionMethod, 'none'>, { ro: string; upper: string }>> = {
  'unionfs-fuse': { ro: '/run/ltsp-union/ro', upper: '/run/ltsp-union/rw' },
  overlayfs: { ro: '/run/ltsp-union/ro', upper: '/run/ltsp-union/rw/upper' },
};

#!/bin/bash
# pre-pivot hook of the ltsp-union dracut module (sourced by dracut-pre-pivot).
#
# With rd.unionfs=1 on the kernel command line, the NBD root that dracut mounted
# read-only at /sysroot becomes the lower branch of a unionfs-fuse union whose
# upper branch is a tmpfs; the union is mounted at /sysroot and becomes the root at
# switch_root. Each step prints one "ltsp-union:" line to the kernel log (and so to
# the serial console) for the harness to time and assert.
#
# Why each odd step is there:
#  - mount --make-rprivate /: mount --move refuses mounts under a shared mount.
#  - -o chroot=: systemd moves /run into the new root at switch_root; unionfs-fuse
#    resolves branch paths relative to its chroot, so the move does not break it.
#  - suid,dev,allow_other: FUSE defaults to nosuid,nodev and denies other users.
#  - argv[0] "@unionfs": systemd spares root-storage daemons in its final kill loop
#    (systemd.io/ROOT_STORAGE_DAEMONS). dracut-pre-pivot.service has KillMode=process,
#    so the forked daemon outlives the hook.

# shellcheck source=/dev/null
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh
# shellcheck source=/dev/null
. /lib/ltsp-test-delay.sh

ltsp_union_say() {
    echo "<5>ltsp-union: $*" >/dev/kmsg 2>/dev/null || echo "ltsp-union: $*" >/dev/console
}

ltsp_union_fail() {
    ltsp_union_say "FAILED: $*"
    warn "ltsp-union: $*"
    emergency_shell -n ltsp-union "ltsp-union: $*"
    return 1
}

ltsp_union() {
    local base=/run/ltsp-union dev size
    ltsp_test_delay union || return 1
    if ! getargbool 0 rd.unionfs; then
        ltsp_union_say "off (no rd.unionfs=1): booting the plain read-only root"
        return 0
    fi
    ismounted "$NEWROOT" || { ltsp_union_fail "$NEWROOT is not mounted: no NBD root to lay the union on"; return 1; }
    dev=$(findmnt -n -o SOURCE "$NEWROOT")
    ltsp_union_say "start ro=$dev"

    modprobe fuse 2>/dev/null
    [ -c /dev/fuse ] || { ltsp_union_fail "/dev/fuse is missing (fuse module not loaded)"; return 1; }

    mkdir -p "$base/ro" "$base/rw" || { ltsp_union_fail "cannot create $base"; return 1; }
    mount --make-rprivate / || { ltsp_union_fail "mount --make-rprivate / failed"; return 1; }
    mount --move "$NEWROOT" "$base/ro" || { ltsp_union_fail "mount --move $NEWROOT $base/ro failed"; return 1; }
    ltsp_union_say "moved ro=$dev to $base/ro"

    size=$(getarg rd.unionfs.size=)
    mount -t tmpfs -o "mode=0755,size=${size:-50%}" ltsp-rw "$base/rw" || { ltsp_union_fail "tmpfs for the rw branch failed"; return 1; }
    ltsp_union_say "rw=tmpfs size=${size:-50%}"

    (exec -a @unionfs unionfs \
        -o cow,chroot="$base",allow_other,suid,dev,max_files=32768 \
        /rw=RW:/ro=RO "$NEWROOT") \
        || { ltsp_union_fail "unionfs-fuse failed to mount $NEWROOT"; return 1; }
    ismounted "$NEWROOT" || { ltsp_union_fail "$NEWROOT is not mounted after unionfs"; return 1; }
    [ -x "$NEWROOT/sbin/init" ] || [ -L "$NEWROOT/sbin/init" ] || { ltsp_union_fail "no /sbin/init visible through the union"; return 1; }
    ltsp_union_say "mounted ro=$dev rw=tmpfs union=$NEWROOT"
    return 0
}

ltsp_union

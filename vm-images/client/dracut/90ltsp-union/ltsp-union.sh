#!/bin/bash
# pre-pivot hook of the ltsp-union dracut module (sourced by dracut-pre-pivot).
#
# The NBD root that dracut mounted read-only at /sysroot becomes the lower branch of a
# union whose upper branch is a tmpfs; the union is mounted at /sysroot and becomes the
# root at switch_root. The method comes from the kernel command line
# (ltsp-union-method.sh): unionfs-fuse (rd.unionfs=1, the seed's), overlayfs (the kernel
# overlay Debian's LTSP lays, rd.ltsp.union=overlayfs) or none. Each step prints one
# "ltsp-union:" line to the kernel log (and so to the serial console) for the harness to
# time and assert; the start and mounted lines name the method.
#
# overlayfs (Documentation/filesystems/overlayfs.rst): upperdir and workdir on one
# tmpfs, the NBD root the lowerdir; the same moves as unionfs-fuse's, so /run (moved
# into the new root at switch_root) keeps both branches visible.
#
# Why each odd step of unionfs-fuse is there:
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
# shellcheck source=/dev/null
. /lib/ltsp-union-method.sh

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
    local base=/run/ltsp-union dev size method
    ltsp_test_delay union || return 1
    method=$(ltsp_union_method) || { ltsp_union_fail "rd.ltsp.union=$method: not one of $LTSP_UNION_METHODS"; return 1; }
    if [ "$method" = none ]; then
        ltsp_union_say "off (method none): booting the plain read-only root"
        return 0
    fi
    ismounted "$NEWROOT" || { ltsp_union_fail "$NEWROOT is not mounted: no NBD root to lay the union on"; return 1; }
    dev=$(findmnt -n -o SOURCE "$NEWROOT")
    ltsp_union_say "start ro=$dev method=$method"

    if [ "$method" = unionfs-fuse ]; then
        modprobe fuse 2>/dev/null
        [ -c /dev/fuse ] || { ltsp_union_fail "/dev/fuse is missing (fuse module not loaded)"; return 1; }
    else
        modprobe overlay 2>/dev/null
        grep -qw overlay /proc/filesystems || { ltsp_union_fail "no overlay filesystem (overlay module not loaded)"; return 1; }
    fi

    mkdir -p "$base/ro" "$base/rw" || { ltsp_union_fail "cannot create $base"; return 1; }
    mount --make-rprivate / || { ltsp_union_fail "mount --make-rprivate / failed"; return 1; }
    mount --move "$NEWROOT" "$base/ro" || { ltsp_union_fail "mount --move $NEWROOT $base/ro failed"; return 1; }
    ltsp_union_say "moved ro=$dev to $base/ro"

    size=$(getarg rd.unionfs.size=)
    mount -t tmpfs -o "mode=0755,size=${size:-50%}" ltsp-rw "$base/rw" || { ltsp_union_fail "tmpfs for the rw branch failed"; return 1; }
    ltsp_union_say "rw=tmpfs size=${size:-50%}"

    if [ "$method" = unionfs-fuse ]; then
        (exec -a @unionfs unionfs \
            -o cow,chroot="$base",allow_other,suid,dev,max_files=32768 \
            /rw=RW:/ro=RO "$NEWROOT") \
            || { ltsp_union_fail "unionfs-fuse failed to mount $NEWROOT"; return 1; }
    else
        mkdir -p "$base/rw/upper" "$base/rw/work" || { ltsp_union_fail "cannot create the upper and work dirs in $base/rw"; return 1; }
        mount -t overlay -o "lowerdir=$base/ro,upperdir=$base/rw/upper,workdir=$base/rw/work" ltsp-union "$NEWROOT" \
            || { ltsp_union_fail "overlayfs failed to mount $NEWROOT"; return 1; }
    fi
    ismounted "$NEWROOT" || { ltsp_union_fail "$NEWROOT is not mounted after $method"; return 1; }
    [ -x "$NEWROOT/sbin/init" ] || [ -L "$NEWROOT/sbin/init" ] || { ltsp_union_fail "no /sbin/init visible through the union"; return 1; }
    ltsp_union_say "mounted ro=$dev rw=tmpfs union=$NEWROOT method=$method"
    return 0
}

ltsp_union

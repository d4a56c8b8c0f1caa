#!/bin/bash
# cmdline hook of the ltsp-union dracut module, the first of its hooks: checks that the
# initramfs and the kernel hold what the chain needs, and fails the boot at once,
# naming what is missing and the boot stage (harness/boot/stages.ts) it would stop:
#
#   ltsp-lab: missing nbd-client in the initramfs: stage nbd cannot run
#
# Without it a missing tool shows late and vaguely: dracut's initqueue retries the NBD
# root until rd.retry runs out (minutes), then says "Could not boot.".
# The kernel checks are for a kernel without modules (the LTSP client kernel), whose
# drivers and filesystems are all there before /init runs.

# shellcheck source=/dev/null
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh
# shellcheck source=/dev/null
. /lib/ltsp-union-method.sh

ltsp_check_missing() {  # what stage
    echo "<3>ltsp-lab: missing $1: stage $2 cannot run" >/dev/kmsg 2>/dev/null || echo "ltsp-lab: missing $1: stage $2 cannot run" >/dev/console
    die "ltsp-lab: missing $1"
}

ltsp_check() {
    local t nic method
    for t in nbd-client ip; do
        command -v "$t" >/dev/null || { ltsp_check_missing "$t in the initramfs" nbd; return 1; }
    done
    if getargbool 1 rd.ltsp.nbd.persist && ! [ -x /usr/local/sbin/ltsp-nbd-persist ]; then
        ltsp_check_missing "ltsp-nbd-persist in the initramfs" nbd; return 1
    fi
    method=$(ltsp_union_method) || { ltsp_check_missing "a union method '$method' (rd.ltsp.union= takes $LTSP_UNION_METHODS)" union; return 1; }
    if [ "$method" = unionfs-fuse ] && ! command -v unionfs >/dev/null; then
        ltsp_check_missing "unionfs (unionfs-fuse) in the initramfs" union; return 1
    fi
    [ -d "/lib/modules/$(uname -r)" ] && return 0
    [ -e /sys/block/nbd0 ] || { ltsp_check_missing "nbd (CONFIG_BLK_DEV_NBD) in the kernel $(uname -r)" nbd; return 1; }
    grep -qw ext4 /proc/filesystems || { ltsp_check_missing "ext4 (CONFIG_EXT4_FS) in the kernel $(uname -r)" root; return 1; }
    if [ "$method" = unionfs-fuse ] && ! grep -qw fuse /proc/filesystems; then
        ltsp_check_missing "fuse (CONFIG_FUSE_FS) in the kernel $(uname -r)" union; return 1
    fi
    if [ "$method" = overlayfs ] && ! grep -qw overlay /proc/filesystems; then
        ltsp_check_missing "overlay (CONFIG_OVERLAY_FS) in the kernel $(uname -r)" union; return 1
    fi
    for nic in /sys/class/net/*; do
        [ "${nic##*/}" = lo ] || return 0
    done
    ltsp_check_missing "a driver for this machine's NIC in the kernel $(uname -r) (no network interface)" nbd
    return 1
}

ltsp_check

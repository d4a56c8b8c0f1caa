#!/bin/bash
# dracut module "ltsp-union": lays a copy-on-write root (unionfs-fuse or overlayfs)
# over the read-only NBD root before switch_root, so a thin client runs stateless.
# See dracut.modules(7) for the check/depends/installkernel/install contract.

# Only when asked for (dracut --add ltsp-union or add_dracutmodules).
check() {
    require_binaries unionfs /usr/local/sbin/ltsp-nbd-persist || return 1
    return 255
}

depends() {
    # bash: the hooks give the daemons an argv[0] of "@unionfs" and "@ltsp-nbd-persist"
    # with exec -a.
    echo nbd bash
    return 0
}

installkernel() {
    hostonly='' instmods fuse overlay
}

install() {
    inst_multiple unionfs mount umount mkdir findmnt
    # Before anything else: fail the boot at once, naming what is missing (see the script).
    # shellcheck disable=SC2154  # moddir is set by dracut
    inst_hook cmdline 01 "$moddir/ltsp-check.sh"
    inst_hook pre-pivot 50 "$moddir/ltsp-union.sh"
    # The NBD root's reconnect daemon, listening before nbd-client connects (and before
    # the nbd stage's test delay, pre-udev 99).
    inst_binary /usr/local/sbin/ltsp-nbd-persist
    inst_hook pre-udev 10 "$moddir/ltsp-nbd-persist.sh"
    # ltsp.test.delay=STAGE:SECONDS, for the harness's regression gate (see the script).
    inst_simple "$moddir/ltsp-test-delay.sh" /lib/ltsp-test-delay.sh
    # Which union (rd.ltsp.union=, rd.unionfs=1): read by ltsp-check.sh and ltsp-union.sh.
    inst_simple "$moddir/ltsp-union-method.sh" /lib/ltsp-union-method.sh
    inst_hook pre-udev 99 "$moddir/ltsp-test-delay-nbd.sh"
    inst_hook pre-mount 99 "$moddir/ltsp-test-delay-root.sh"
    # root=nbd's fstype and mount options, which the shell init's mount drops (see the script).
    inst_hook netroot 50 "$moddir/ltsp-nbd-rootflags.sh"
}

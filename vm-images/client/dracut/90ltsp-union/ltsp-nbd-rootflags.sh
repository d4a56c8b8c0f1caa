#!/bin/sh
# netroot hook, shell init only: the NBD root's filesystem type and mount options, handed
# to the shell init's mount of /sysroot.
#
# root=nbd:SERVER:PORT[:FSTYPE[:OPTIONS[:NBDOPTS]]] (or a DHCP root-path of that form)
# names both. dracut's nbdroot hands them on through fs-lib's write_fs_tab, which in
# Debian's dracut 059 appends to /etc/fstab only when /etc/fstab already has a line for
# /dev/root on /sysroot; it never has, so mount/99-mount-root.sh mounted with rootflags=
# alone (ro,relatime for root=nbd:...::errors=panic). This hook, sourced by dracut's
# netroot with $netroot set (the DHCP root-path included), writes a mount hook that sets
# the fstype and rflags mount-root reads, as rootfstype= and rootflags= would: the
# options first, so the command line's rootflags=, ro and rw still win. A systemd
# initramfs gets them from nbdroot through sysroot.mount, and is left alone.
# shellcheck disable=SC2154  # netroot, root, rflags and hookdir are dracut's, as are warn and info

[ -n "$DRACUT_SYSTEMD" ] && return 0
[ "${netroot%%:*}" = nbd ] || return 0
# nbdroot names the root itself (/dev/root) only when root= did not; then only.
[ "$root" = block:/dev/root ] || [ "$root" = dhcp ] || return 0

ltsp_spec=${netroot#nbd:}
# SERVER may be an IPv6 address in brackets, colons and all.
case "$ltsp_spec" in
    \[*) ltsp_spec=${ltsp_spec#*]:} ;;
    *) ltsp_spec=${ltsp_spec#*:} ;;
esac
# ltsp_spec is PORT[:FSTYPE[:OPTIONS[:NBDOPTS]]] now.
ltsp_field() {
    case "$ltsp_spec" in
        *:*) ltsp_spec=${ltsp_spec#*:} ;;
        *) ltsp_spec= ;;
    esac
    ltsp_value=${ltsp_spec%%:*}
}
ltsp_field
ltsp_fstype=$ltsp_value
ltsp_field
ltsp_opts=$ltsp_value
unset -f ltsp_field

if [ -n "$ltsp_fstype$ltsp_opts" ]; then
    case "$ltsp_fstype$ltsp_opts" in
        *"'"*) warn "ltsp-nbd-rootflags: a quote in '$netroot': its fstype and options are not used" ;;
        *)
            {
                echo "# written by ltsp-nbd-rootflags from $netroot"
                [ -n "$ltsp_fstype" ] && [ "$ltsp_fstype" != auto ] && echo "fstype='$ltsp_fstype'"
                [ -n "$ltsp_opts" ] && echo "rflags='$ltsp_opts${rflags:+,$rflags}'"
            } > "$hookdir/mount/50-ltsp-nbd-rootflags.sh"
            info "ltsp-nbd-rootflags: /sysroot is mounted with type ${ltsp_fstype:-auto} and options ${ltsp_opts:-(none)} from $netroot"
            ;;
    esac
fi
unset ltsp_spec ltsp_value ltsp_fstype ltsp_opts

#!/bin/sh
# Prepares the ltsp23 lane's served files the way LTSP 23's documentation does, in a
# container of the lab's server image (which has bookworm's ltsp and squashfs-tools):
#
#   prepare.sh IMAGE_NAME
#
# with the exported client root at /srv/ltsp/IMAGE_NAME (a chroot, LTSP's BASE_DIR)
# and an empty /srv/tftp (LTSP's TFTP_DIR). It runs
#   ltsp image IMAGE_NAME   squashfs of the chroot at /srv/ltsp/images/IMAGE_NAME.img;
#                           it runs `ltsp kernel` itself, which copies the image's
#                           vmlinuz and initrd.img to /srv/tftp/ltsp/IMAGE_NAME/
#   ltsp ipxe               /srv/tftp/ltsp/ltsp.ipxe (kept beside the artefact: the lab
#                           writes each client's script, see DEVIATIONS.md)
# `ltsp image` and `ltsp kernel` mount (an overlay on the chroot, a loop of the
# squashfs): vm-images/build.sh runs this container privileged, at build time only.
# `ltsp initrd` embeds the server's users, so it runs in the server at its start
# (ltsp-server-config), not here.
set -eu
name="${1:?usage: prepare.sh IMAGE_NAME}"
[ -d "/srv/ltsp/$name/proc" ] || { echo "prepare.sh: /srv/ltsp/$name is not a client root" >&2; exit 1; }
# LTSP's network_vars (55-config.sh) reads the server's address and MAC from the route
# to 192.168.67.1, its default subnet; this build runs with no network at all, so they
# are given (they pick [MAC] sections of an ltsp.conf; the lab has none).
export DEVICE=lo IP_ADDRESS=127.0.0.1 MAC_ADDRESS=00:00:00:00:00:00
ltsp image "$name"
# --binaries=0: the lab's clients are QEMU's iPXE ROMs; no memtest or iPXE binaries to copy.
ltsp ipxe --binaries=0
[ -s "/srv/ltsp/images/$name.img" ] || { echo "prepare.sh: ltsp image left no /srv/ltsp/images/$name.img" >&2; exit 1; }
for f in "ltsp/$name/vmlinuz" "ltsp/$name/initrd.img" ltsp/ltsp.ipxe; do
  [ -s "/srv/tftp/$f" ] || { echo "prepare.sh: no /srv/tftp/$f" >&2; exit 1; }
done
echo "prepare.sh: done"

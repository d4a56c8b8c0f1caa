#!/bin/sh
# Runs inside the client-root image (vm-images/build.sh): builds the thin-client
# initramfs with dracut, the nbd module and our ltsp-union module.
#   build-initramfs.sh KERNEL_VERSION OUTPUT
set -eu
kver="$1"
out="$2"
here="$(dirname "$0")"
# This container is thrown away after the build: prune the module tree here so that
# the --no-hostonly initramfs carries only what a thin client can use (see the list).
kernel="/lib/modules/$kver/kernel"
keep=$(mktemp -d)
# "!path" lines: set aside before the pruning, put back after it.
grep '^!' "$here/prune-modules.list" | cut -c2- | while read -r path; do
  [ -e "$kernel/$path" ] || { echo "prune-modules.list keeps $path, which $kver does not have" >&2; exit 1; }
  mkdir -p "$keep/$(dirname "$path")"
  cp -a "$kernel/$path" "$keep/$path"
done
grep -v '^[#!]' "$here/prune-modules.list" | while read -r dir; do
  [ -n "$dir" ] && rm -rf "${kernel:?}/$dir"
done
cp -a "$keep/." "$kernel/"
rm -rf "$keep"
depmod -a "$kver"
cp -r "$here/90ltsp-union" /usr/lib/dracut/modules.d/
chmod 0755 /usr/lib/dracut/modules.d/90ltsp-union/*.sh
# The drivers the client root blacklists (machine parts a lab client has but never
# uses) stay out of the initramfs too: a --no-hostonly initramfs does not carry
# /etc/modprobe.d, and udev would load them there, the floppy probe first among them.
omit=$(awk '$1 == "blacklist" { printf "%s ", $2 }' /etc/modprobe.d/ltsp-lab.conf)
[ -n "$omit" ] || { echo "no blacklisted drivers in /etc/modprobe.d/ltsp-lab.conf" >&2; exit 1; }
dracut --force --no-hostonly --confdir "$here/conf.d" --omit-drivers "$omit" --kver "$kver" "$out"
# Fail the build, not the boot, when something we depend on is missing.
listing=$(lsinitrd "$out")
for want in 'e1000.ko' '8139too.ko' '8139cp.ko' 'bin/nbd-client' 'usr/bin/unionfs' 'fuse.ko' 'nbd.ko' 'ltsp-union.sh' 'lib/ltsp-test-delay.sh' \
    'usr/local/sbin/ltsp-nbd-persist' 'ltsp-nbd-persist.sh' 'libnl-genl-3.so'; do
  printf '%s\n' "$listing" | grep -q "$want" || { echo "initramfs lacks $want" >&2; exit 1; }
done
for d in $omit; do
  # Module files may spell the name with dashes (kvm-amd.ko for kvm_amd).
  if printf '%s\n' "$listing" | tr - _ | grep -q "/$d\.ko"; then
    echo "initramfs carries $d, which --omit-drivers leaves out" >&2
    exit 1
  fi
done
chmod 0644 "$out"

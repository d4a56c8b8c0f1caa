#!/bin/sh
# Runs inside the client-root image (vm-images/build.sh): builds a thin-client initramfs
# with dracut, the nbd module and our ltsp-union module.
#   build-initramfs.sh stock|ltsp KERNEL_VERSION OUTPUT [NBD_VERSION]
#
#   stock  for the root's own Debian kernel: systemd in the initramfs, the kernel
#          modules a thin client can use (prune-modules.list), gzip.
#   ltsp   for the LTSP client kernel (vm-images/client/kernel), shaped like EL-6's: dracut's
#          shell init (99base's init.sh as /init, no systemd), no kernel modules (the
#          kernel has all it needs built in), only the modules the chain needs; an
#          uncompressed cpio (the kernel has no decompressor, see below).
# The chain's dracut modules (nbd, network-legacy, ltsp-union) are named once, in
# conf.d/10-ltsp-lab.conf, for both.
set -eu
mode="$1"
kver="$2"
out="$3"
# Another nbd-client version (vm-images/nbd/): its bundle, /opt/nbd-VERSION, must be in.
nbd="${4:-}"
here="$(dirname "$0")"
case "$mode" in stock|ltsp) ;; *) echo "build-initramfs.sh: mode is stock or ltsp, not '$mode'" >&2; exit 2 ;; esac
cp -r "$here/90ltsp-union" /usr/lib/dracut/modules.d/
chmod 0755 /usr/lib/dracut/modules.d/90ltsp-union/*.sh

# What the initramfs must hold (a missing one fails the build, not the boot).
want='bin/nbd-client usr/bin/unionfs ltsp-union.sh ltsp-check.sh lib/ltsp-test-delay.sh usr/local/sbin/ltsp-nbd-persist ltsp-nbd-persist.sh libnl-genl-3.so'
[ -z "$nbd" ] || want="$want opt/nbd-$nbd/bin/nbd-client opt/nbd-$nbd/lib/ld-linux"

if [ "$mode" = ltsp ]; then
  # -m names dracut's core (its shell init, with bash for the hooks' exec -a); conf.d adds the
  # chain's modules, and dracut their dependencies (network, udev-rules, rootfs-block...).
  # Uncompressed, the measured choice. Under TCG on the 2-core host (other work beside it),
  # the same 36 MB cpio, from the iPXE script's first line to "Run /init" (fetch over HTTP,
  # kernel start, unpack); in brackets the unpack alone ("Unpacking initramfs" to "Freeing
  # initrd memory"):
  #   none  36.3 MB  1.10 1.19 1.25 1.71 s, median 1.22  (0.06-0.18 s)
  #   lz4   17.9 MB  0.88 1.40 1.73 1.95 s, median 1.57  (0.12-0.25 s)  lz4 -l -9
  #   zstd  13.9 MB  1.12 s, one boot                    (0.33 s)       zstd -15
  #   gzip  15.4 MB  1.71 s, one boot                    (0.39 s)       gzip -9
  # Boots spread by 0.3-0.8 s; none is as fast as any, and needs no decompressor in the kernel
  # (ltsp-client.config has no RD_* option) and no compressor here (this image has only gzip).
  # rd.skipfsck: the shell init's mount-root runs e2fsck on the root, which fails on the
  # read-only NBD export ("Operation not permitted while trying to open /dev/nbd0") and
  # drops to the emergency shell; a thin client's network root is never checked by it.
  printf 'rd.skipfsck\n' >/tmp/ltsp-lab-cmdline.conf
  dracut --force --no-hostonly --no-kernel --no-early-microcode --confdir "$here/conf.d" \
    --include /tmp/ltsp-lab-cmdline.conf /etc/cmdline.d/90-ltsp-lab.conf \
    -m "bash base" --no-compress --kver "$kver" "$out"
  listing=$(lsinitrd "$out")
  for w in $want sbin/dhclient etc/cmdline.d/90-ltsp-lab.conf; do
    printf '%s\n' "$listing" | grep -q "$w" || { echo "initramfs lacks $w" >&2; exit 1; }
  done
  # EL-6's shape: no systemd as init, no kernel modules.
  for unwanted in 'usr/lib/systemd/systemd$' 'lib/systemd/systemd$' '\.ko' 'systemd-journald'; do
    if printf '%s\n' "$listing" | grep -q "$unwanted"; then
      echo "the ltsp initramfs carries $(printf '%s\n' "$listing" | grep "$unwanted" | head -n 1 | awk '{print $NF}'), which it must not" >&2
      exit 1
    fi
  done
  chmod 0644 "$out"
  exit 0
fi

# stock. This container is thrown away after the build: prune the module tree here so that
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
# The drivers the client root blacklists (machine parts a lab client has but never
# uses) stay out of the initramfs too: a --no-hostonly initramfs does not carry
# /etc/modprobe.d, and udev would load them there, the floppy probe first among them.
omit=$(awk '$1 == "blacklist" { printf "%s ", $2 }' /etc/modprobe.d/ltsp-lab.conf)
[ -n "$omit" ] || { echo "no blacklisted drivers in /etc/modprobe.d/ltsp-lab.conf" >&2; exit 1; }
dracut --force --no-hostonly --confdir "$here/conf.d" --omit-drivers "$omit" --kver "$kver" "$out"
# Fail the build, not the boot, when something we depend on is missing.
listing=$(lsinitrd "$out")
for w in $want e1000.ko 8139too.ko 8139cp.ko fuse.ko nbd.ko; do
  printf '%s\n' "$listing" | grep -q "$w" || { echo "initramfs lacks $w" >&2; exit 1; }
done
for d in $omit; do
  # Module files may spell the name with dashes (kvm-amd.ko for kvm_amd).
  if printf '%s\n' "$listing" | tr - _ | grep -q "/$d\.ko"; then
    echo "initramfs carries $d, which --omit-drivers leaves out" >&2
    exit 1
  fi
done
chmod 0644 "$out"

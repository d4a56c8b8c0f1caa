#!/usr/bin/env bash
# The one build entry point for everything the lab boots and serves.
#
#   vm-images/build.sh [--only base|server|root|initramfs|kernel|initramfs-ltsp|ltsp23]
#                      [--rebuild root|initramfs|kernel|initramfs-ltsp]... [--manifest FILE] [--keys]
#
# --keys prints each artefact's key (JSON) and exits without building. --rebuild builds
# a cached artefact afresh (the harness asks for it when a checksum says it is damaged).
#
# Artefacts, each keyed by a hash of exactly the recipe files it is made from:
#   base       docker image ltsp-lab/base:KEY     debootstrap minbase bookworm + docker import
#   server     docker image ltsp-lab/server:KEY   dnsmasq, iPXE script, nbd-server (FROM base)
#   root       CACHE/root-KEY/{root.ext4,vmlinuz,kernel-version}, and the docker
#              image ltsp-lab/client-root:KEY that the initramfs is built in
#   initramfs  CACHE/initramfs-KEY/initrd.img     the stock client's: dracut with systemd, the
#                                                 root's Debian kernel's modules, nbd + our module
#   kernel     CACHE/kernel-KEY/{vmlinuz,kernel-version,config,build-profile,make.log}
#              the LTSP client kernel: linux-source-6.1, the lab's config, no modules
#              (built in a container of ltsp-lab/kernel-builder:KEY, FROM base)
#   initramfs-ltsp  CACHE/initramfs-ltsp-KEY/initrd.img  the ltsp client's: dracut's shell
#              init (no systemd), no kernel modules, nbd + our module
#   root-ltsp23  docker image ltsp-lab/client-root-ltsp23:KEY  the ltsp23 lane's client root
#              (FROM base: Debian's kernel, initramfs-tools, nbd-client, ltsp; no dracut)
#   ltsp23     CACHE/ltsp23-KEY/{IMAGE.img,vmlinuz,initrd.img,ltsp.ipxe}  what LTSP 23's own
#              `ltsp image` (and the `ltsp kernel` it runs) and `ltsp ipxe` make of that root,
#              run in a privileged container of the server image (ltsp23/prepare.sh)
# The manifest's "clients" names each client kind's kernel and initramfs (ltsp, stock);
# its "ltsp23" the ltsp23 lane's files and its image's name (LTSP's, per architecture);
# its top-level kernel/initrd/kernelVersion are the stock client's.
# CACHE is $LTSP_LAB_CACHE, default ~/.cache/ltsp-lab. Progress goes to stderr; the
# manifest (JSON) goes to stdout and to CACHE/manifest.json.
# LTSP_LAB_KEY_SALT, when set, is mixed into every key, so everything is built afresh
# under new names (./lab bench's cold build); unset, the keys are what they always were.
# LTSP_LAB_LABELS ("key=value ..."), when set, labels every container the build runs:
# the harness passes its run's ownership labels, so `./lab clean` reaps a dead build's.
set -euo pipefail
export LC_ALL=C DOCKER_BUILDKIT=0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

only=""
manifest_out=""
keys_only=""
rebuild=" "
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 ;;
    --manifest) manifest_out="${2:-}"; shift 2 ;;
    --keys) keys_only=1; shift ;;
    --rebuild)
      case "${2:-}" in root|initramfs|kernel|initramfs-ltsp) rebuild+="$2 " ;; *) LAB_STEP=args die "--rebuild takes root, initramfs, kernel or initramfs-ltsp, not '${2:-}'" ;; esac
      shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) LAB_STEP=args die "unknown option '$1' (see --help)" ;;
  esac
done
case "$only" in ""|base|server|root|initramfs|kernel|initramfs-ltsp|ltsp23) ;; *) LAB_STEP=args die "--only takes base, server, root, initramfs, kernel, initramfs-ltsp or ltsp23, not '$only'" ;; esac
# Whether this run builds an artefact: all of them, or --only's and what it is built on.
wants() {  # artefact
  [ -z "$only" ] && return 0
  case "$1:$only" in
    "$only:$only"|root:initramfs|root:initramfs-ltsp|kernel:initramfs-ltsp|server:ltsp23) return 0 ;;
  esac
  return 1
}

# ---------------------------------------------------------------- recipes
# Every file a step cannot do without, checked before any work: a missing or corrupt
# one stops the build at once, naming the step it belongs to.
require_files() {  # step file...
  local step="$1" f err; shift
  for f in "$@"; do
    [ -f "$here/$f" ] || LAB_STEP=$step die "recipe file missing: vm-images/$f"
    [ -r "$here/$f" ] || LAB_STEP=$step die "recipe file unreadable: vm-images/$f"
    case "$f" in
      *.sh|*/init.d/*|*/sbin/*)
        err=$(bash -n "$here/$f" 2>&1 | head -n 1) || true
        [ -z "$err" ] || LAB_STEP=$step die "recipe file is corrupt (shell syntax error): vm-images/$f: ${err#"$here/$f": }" ;;
    esac
  done
}
require_files base base/recipe.sh
require_files server server/Dockerfile server/rootfs/usr/local/sbin/ltsp-init server/rootfs/usr/local/sbin/ltsp-server \
  server/rootfs/usr/local/sbin/ltsp-server-config server/rootfs/usr/local/sbin/ltsp-server-daemon \
  server/rootfs/usr/local/sbin/ltsp-server-ready server/rootfs/usr/local/sbin/ltsp-server-ctl \
  server/rootfs/etc/init.d/nbd-server server/rootfs/etc/init.d/ltsp-dnsmasq server/rootfs/etc/init.d/ltsp-httpd \
  server/rootfs/usr/local/lib/ltsp-server/daemon-init.sh server/rootfs/etc/inittab \
  server/rootfs/etc/systemd/system/ltsp-dnsmasq.service server/rootfs/etc/systemd/system/ltsp-httpd.service \
  server/rootfs/etc/nbd-server/config server/rootfs/etc/sysconfig/nbd-server \
  server/rootfs/etc/systemd/system/nbd-server.service server/rootfs/srv/tftp/boot.ipxe
require_files root client/root/Dockerfile client/root/src/ltsp-nbd-persist.c
require_files initramfs client/dracut/build-initramfs.sh client/dracut/conf.d/10-ltsp-lab.conf \
  client/dracut/90ltsp-union/module-setup.sh client/dracut/90ltsp-union/ltsp-union.sh \
  client/dracut/90ltsp-union/ltsp-test-delay.sh client/dracut/90ltsp-union/ltsp-test-delay-nbd.sh \
  client/dracut/90ltsp-union/ltsp-test-delay-root.sh client/dracut/90ltsp-union/ltsp-nbd-persist.sh \
  client/dracut/90ltsp-union/ltsp-check.sh
require_files kernel client/kernel/Dockerfile client/kernel/build-kernel.sh client/kernel/ltsp-client.config
require_files ltsp23 ltsp23/client/Dockerfile ltsp23/prepare.sh

# ---------------------------------------------------------------- keys
# Each key hashes exactly the recipe files of its artefact and the key it is built on.
LAB_STEP=base
# shellcheck source=base/recipe.sh
. "$here/base/recipe.sh"
{ [ -n "${BASE_SUITE:-}" ] && [ -n "${BASE_VARIANT:-}" ]; } || die "vm-images/base/recipe.sh does not set BASE_SUITE and BASE_VARIANT"
SALT="${LTSP_LAB_KEY_SALT:+ salt=$LTSP_LAB_KEY_SALT}"
BASE_KEY=$(recipe_hash "base-v1$SALT" "$here/base")
LAB_STEP=server
SERVER_KEY=$(recipe_hash "server-v1 $BASE_KEY$SALT" "$here/server")
LAB_STEP=root
ROOT_KEY=$(recipe_hash "root-v1 $BASE_KEY$SALT" "$here/client/root")
LAB_STEP=initramfs
INITRD_KEY=$(recipe_hash "initramfs-v1 $ROOT_KEY$SALT" "$here/client/dracut")
LAB_STEP=kernel
# The builder image hashes its Dockerfile alone: a change of the config or the build
# script rebuilds the kernel, not the apt layer under it.
KBUILDER_KEY=$(recipe_hash "kernel-builder-v1 $BASE_KEY$SALT" "$here/client/kernel/Dockerfile")
KERNEL_KEY=$(recipe_hash "kernel-v1 $KBUILDER_KEY$SALT" "$here/client/kernel")
LAB_STEP=initramfs-ltsp
# Built in the root's image for the kernel's version; uncompressed, as the kernel has no
# decompressor (no RD_* option).
INITRD_LTSP_KEY=$(recipe_hash "initramfs-ltsp-v1 $ROOT_KEY $KERNEL_KEY$SALT" "$here/client/dracut")
LAB_STEP=ltsp23
ROOT_LTSP23_KEY=$(recipe_hash "root-ltsp23-v1 $BASE_KEY$SALT" "$here/ltsp23/client")
# Made by the ltsp the server image installs: keyed by the Dockerfile that installs it,
# not by the server's scripts (a change of those does not remake LTSP's image).
LTSP23_KEY=$(recipe_hash "ltsp23-v1 $ROOT_LTSP23_KEY $BASE_KEY$SALT" "$here/server/Dockerfile" "$here/ltsp23/prepare.sh")
# LTSP names an image by its chroot's folder; ltsp.ipxe's default for a 64-bit client.
LTSP23_IMAGE_NAME=x86_64
keys_json() {
  printf '{ "base": "%s", "server": "%s", "root": "%s", "initramfs": "%s", "kernel": "%s", "initramfs-ltsp": "%s", "root-ltsp23": "%s", "ltsp23": "%s" }' \
    "$BASE_KEY" "$SERVER_KEY" "$ROOT_KEY" "$INITRD_KEY" "$KERNEL_KEY" "$INITRD_LTSP_KEY" "$ROOT_LTSP23_KEY" "$LTSP23_KEY"
}
if [ -n "$keys_only" ]; then keys_json; printf '\n'; exit 0; fi

CACHE="${LTSP_LAB_CACHE:-$HOME/.cache/ltsp-lab}"
mkdir -p "$CACHE" 2>/dev/null || LAB_STEP=cache die "cannot create the cache folder $CACHE (set LTSP_LAB_CACHE to a writable folder)"
[ -w "$CACHE" ] || LAB_STEP=cache die "the cache folder $CACHE is not writable (set LTSP_LAB_CACHE)"
LOGS="$CACHE/logs"; mkdir -p "$LOGS"
# One build at a time per cache. flock(1) locks die with their holder, so a lock file
# left by a killed build is never stale; its content only names the last holder.
exec 9<>"$CACHE/.lock"
if ! flock -n 9; then
  LAB_STEP=lock say "another build (pid $(cat "$CACHE/.lock" 2>/dev/null || echo '?')) holds $CACHE/.lock; waiting up to 30 min"
  flock -w 1800 9 || LAB_STEP=lock die "the cache lock $CACHE/.lock is still held after 30 min"
fi
printf '%s\n' "$$" >"$CACHE/.lock"
# Holding the lock, no other build is alive: a temp folder here is a dead build's.
for stale in "$CACHE"/.tmp-*; do
  [ -e "$stale" ] || continue
  LAB_STEP=lock say "removing $stale, left by a build that died"
  rm -rf "$stale"
done
trap 'containers_cleanup; cache_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LAB_STEP=preflight
command -v docker >/dev/null || die "docker is not installed (./lab installs it)"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (./lab starts one)"

# ---------------------------------------------------------------- base
LAB_STEP=base
BASE_IMAGE="ltsp-lab/base:$BASE_KEY"
build_base() {
  docker_has_image "$BASE_IMAGE" && { say "cached $BASE_IMAGE"; return; }
  local final="$CACHE/base-$BASE_KEY"
  if [ ! -f "$final/rootfs.tar" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (./lab installs it)"
    need_space "$CACHE" 1024
    local tmp mirror
    cache_begin "$final"; tmp=$CACHE_TMP
    mirror=$(debian_mirror)
    run_logged "$LOGS/base-debootstrap.log" debootstrap --variant="$BASE_VARIANT" \
      --include="$BASE_INCLUDE" "$BASE_SUITE" "$tmp/rootfs" "$mirror"
    cp -a "$here/base/rootfs/." "$tmp/rootfs/"
    printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$BASE_SUITE" "$mirror" "$BASE_SUITE" >"$tmp/rootfs/etc/apt/sources.list"
    rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
    say "packing rootfs"
    tar -C "$tmp/rootfs" --numeric-owner -cf "$tmp/rootfs.tar" . || die "tar of the base rootfs failed"
    rm -rf "$tmp/rootfs"
    cache_commit "$tmp" "$final"
  fi
  say "docker import -> $BASE_IMAGE"
  docker import --change 'LABEL ltsp-lab.artefact=base' --change 'CMD ["/bin/bash"]' \
    "$final/rootfs.tar" "$BASE_IMAGE" >/dev/null || die "docker import failed"
}
build_base
[ "$only" = base ] && exit 0

docker_build() {  # tag context key
  local tag="$1" ctx="$2" name
  name=$(basename "$ctx")
  need_space "$(docker info -f '{{.DockerRootDir}}')" 1024
  # --force-rm: the legacy builder keeps the container of a failed step otherwise.
  run_logged "$LOGS/$name-docker-build.log" docker build --network default --pull=false --force-rm \
    --build-arg "BASE=$BASE_IMAGE" --label "ltsp-lab.artefact=$name" -t "$tag" "$ctx"
}

# ---------------------------------------------------------------- server
LAB_STEP=server
SERVER_IMAGE="ltsp-lab/server:$SERVER_KEY"
if wants server; then
  if docker_has_image "$SERVER_IMAGE"; then say "cached $SERVER_IMAGE"; else docker_build "$SERVER_IMAGE" "$here/server"; fi
fi
[ "$only" = server ] && exit 0

# ---------------------------------------------------------------- the ltsp23 lane
LAB_STEP=ltsp23
ROOT_LTSP23_IMAGE="ltsp-lab/client-root-ltsp23:$ROOT_LTSP23_KEY"
LTSP23_DIR="$CACHE/ltsp23-$LTSP23_KEY"
build_ltsp23() {
  local f tmp cid n="$LTSP23_IMAGE_NAME"
  if [ -d "$LTSP23_DIR" ]; then
    for f in "$n.img" vmlinuz initrd.img ltsp.ipxe kernel-version; do
      [ -s "$LTSP23_DIR/$f" ] || { say "$LTSP23_DIR is damaged ($f is missing): rebuilding it"; rm -rf "$LTSP23_DIR"; break; }
    done
  fi
  [ -d "$LTSP23_DIR" ] && { say "cached $LTSP23_DIR"; return; }
  docker_has_image "$ROOT_LTSP23_IMAGE" || docker_build "$ROOT_LTSP23_IMAGE" "$here/ltsp23/client"
  need_space "$CACHE" 3072
  cache_begin "$LTSP23_DIR"; tmp=$CACHE_TMP
  container_args root-ltsp23-export
  cid=$(docker create "${CONTAINER_ARGS[@]}" "$ROOT_LTSP23_IMAGE" /bin/true 9>&-) || die "docker create failed"
  say "exporting the ltsp23 client root to a chroot ($n)"
  mkdir -p "$tmp/srv-ltsp/$n" "$tmp/tftp"
  docker export "$cid" 9>&- | tar -C "$tmp/srv-ltsp/$n" --numeric-owner -xf - || die "docker export of $ROOT_LTSP23_IMAGE failed"
  containers_cleanup
  # docker export leaves its bind-mount targets empty; LTSP's init names the client itself.
  printf 'ltsp\n' >"$tmp/srv-ltsp/$n/etc/hostname"
  printf '127.0.0.1\tlocalhost\n' >"$tmp/srv-ltsp/$n/etc/hosts"
  rm -f "$tmp/srv-ltsp/$n/.dockerenv"
  find "$tmp/srv-ltsp/$n/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1 >"$tmp/kernel-version"
  [ -s "$tmp/kernel-version" ] || die "no kernel in the ltsp23 client root"
  container_args ltsp23-prepare
  # `ltsp image` overlays the chroot and `ltsp kernel` loop-mounts the squashfs: this
  # build step gets CAP_SYS_ADMIN and the host's loop devices (not --privileged: Docker
  # here cannot grant every capability); the lab's running server never gets either.
  local loops=() l
  for l in /dev/loop-control /dev/loop[0-9]*; do [ -b "$l" ] || [ -c "$l" ] && loops+=(--device "$l"); done
  [ ${#loops[@]} -gt 1 ] || die "no loop devices on this host (/dev/loop*): ltsp kernel loop-mounts the squashfs"
  run_logged "$LOGS/ltsp23-prepare.log" docker run --rm --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
    "${loops[@]}" --network none "${CONTAINER_ARGS[@]}" \
    --entrypoint /bin/sh -v "$here/ltsp23/prepare.sh:/prepare.sh:ro" \
    -v "$tmp/srv-ltsp:/srv/ltsp" -v "$tmp/tftp:/srv/tftp" "$SERVER_IMAGE" /prepare.sh "$n"
  mv "$tmp/srv-ltsp/images/$n.img" "$tmp/$n.img"
  mv "$tmp/tftp/ltsp/$n/vmlinuz" "$tmp/tftp/ltsp/$n/initrd.img" "$tmp/tftp/ltsp/ltsp.ipxe" "$tmp/"
  rm -rf "$tmp/srv-ltsp" "$tmp/tftp"
  cache_commit "$tmp" "$LTSP23_DIR"
}
wants ltsp23 && build_ltsp23
[ "$only" = ltsp23 ] && exit 0

# ---------------------------------------------------------------- client root
LAB_STEP=root
ROOT_IMAGE="ltsp-lab/client-root:$ROOT_KEY"
ROOT_DIR="$CACHE/root-$ROOT_KEY"
# What is wrong with a finished root folder, or nothing: a file a boot needs is missing,
# or root.ext4 is not the size it was built with. Its checksum is the harness's check,
# once per run (hashing 1 GB on every build call would cost seconds).
root_damage() {
  local f size
  for f in root.ext4 root.ext4.sha256 vmlinuz kernel-version; do
    [ -s "$ROOT_DIR/$f" ] || { printf '%s is missing' "$f"; return 0; }
  done
  [ -f "$ROOT_DIR/root.ext4.size" ] || return 0
  size=$(stat -c %s "$ROOT_DIR/root.ext4")
  [ "$size" = "$(cat "$ROOT_DIR/root.ext4.size")" ] || printf 'root.ext4 is %s bytes, %s when it was built' "$size" "$(cat "$ROOT_DIR/root.ext4.size")"
}
# The kernel alone, from the image the root was exported from: seconds, not an export.
heal_kernel() {
  local kver cid
  kver=$(cat "$ROOT_DIR/kernel-version")
  say "$ROOT_DIR/vmlinuz is missing: taking it again from $ROOT_IMAGE"
  container_args root-kernel
  cid=$(docker create "${CONTAINER_ARGS[@]}" "$ROOT_IMAGE" /bin/true 9>&-) || die "docker create failed"
  docker cp "$cid:/boot/vmlinuz-$kver" "$ROOT_DIR/.vmlinuz.new" 9>&- || die "cannot copy /boot/vmlinuz-$kver out of $ROOT_IMAGE"
  containers_cleanup
  mv "$ROOT_DIR/.vmlinuz.new" "$ROOT_DIR/vmlinuz"
}
build_root() {
  local damage=""
  if [ -d "$ROOT_DIR" ]; then
    if [[ $rebuild == *" root "* ]]; then
      say "rebuilding $ROOT_DIR (--rebuild root)"; rm -rf "$ROOT_DIR"
    else
      damage=$(root_damage)
      if [ "$damage" = "vmlinuz is missing" ] && docker_has_image "$ROOT_IMAGE"; then heal_kernel; damage=$(root_damage); fi
      if [ -n "$damage" ]; then say "$ROOT_DIR is damaged ($damage): rebuilding it"; rm -rf "$ROOT_DIR"; fi
    fi
  fi
  if [ -f "$ROOT_DIR/root.ext4" ] && docker_has_image "$ROOT_IMAGE"; then say "cached $ROOT_DIR"; return; fi
  [ -f "$ROOT_DIR/root.ext4" ] || need_space "$CACHE" 3072
  docker_has_image "$ROOT_IMAGE" || docker_build "$ROOT_IMAGE" "$here/client/root"
  [ -f "$ROOT_DIR/root.ext4" ] && return
  local tmp cid mib kver
  cache_begin "$ROOT_DIR"; tmp=$CACHE_TMP
  container_args root-export
  cid=$(docker create "${CONTAINER_ARGS[@]}" "$ROOT_IMAGE" /bin/true 9>&-) || die "docker create failed"
  say "exporting the root filesystem"
  mkdir "$tmp/tree"
  docker export "$cid" 9>&- | tar -C "$tmp/tree" --numeric-owner -xf - || die "docker export of $ROOT_IMAGE failed"
  containers_cleanup
  # docker export leaves its own bind-mount targets behind; a thin client writes its own.
  printf 'ltsp-client\n' >"$tmp/tree/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tltsp-client\n' >"$tmp/tree/etc/hosts"
  : >"$tmp/tree/etc/resolv.conf"
  rm -f "$tmp/tree/.dockerenv"
  kver=$(find "$tmp/tree/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1)
  [ -n "$kver" ] || die "no kernel in the client root"
  cp "$tmp/tree/boot/vmlinuz-$kver" "$tmp/vmlinuz"
  printf '%s\n' "$kver" >"$tmp/kernel-version"
  rm -f "$tmp/tree/boot/initrd.img"* 
  mib=$(( $(du -sm "$tmp/tree" | cut -f1) * 13 / 10 + 128 ))
  say "mkfs.ext4 -d (${mib} MiB, no partition table)"
  run_logged "$LOGS/root-mkfs.log" mkfs.ext4 -q -F -L ltsp-root -E root_owner=0:0 -d "$tmp/tree" "$tmp/root.ext4" "${mib}M"
  rm -rf "$tmp/tree"
  sha256sum "$tmp/root.ext4" | cut -c1-64 >"$tmp/root.ext4.sha256"
  stat -c %s "$tmp/root.ext4" >"$tmp/root.ext4.size"
  cache_commit "$tmp" "$ROOT_DIR"
}
wants root && build_root
[ "$only" = root ] && exit 0

# ---------------------------------------------------------------- initramfs
LAB_STEP=initramfs
INITRD_DIR="$CACHE/initramfs-$INITRD_KEY"
KVER=""
wants root && KVER=$(cat "$ROOT_DIR/kernel-version")
build_initramfs() {
  if [ -d "$INITRD_DIR" ] && [[ $rebuild == *" initramfs "* ]]; then say "rebuilding $INITRD_DIR (--rebuild initramfs)"; rm -rf "$INITRD_DIR"; fi
  [ -s "$INITRD_DIR/initrd.img" ] && { say "cached $INITRD_DIR"; return; }
  if [ -d "$INITRD_DIR" ]; then say "$INITRD_DIR is damaged (initrd.img is missing): rebuilding it"; rm -rf "$INITRD_DIR"; fi
  need_space "$CACHE" 512
  local tmp
  cache_begin "$INITRD_DIR"; tmp=$CACHE_TMP
  container_args initramfs
  run_logged "$LOGS/initramfs-dracut.log" docker run --rm --network none "${CONTAINER_ARGS[@]}" \
    -v "$here/client/dracut:/recipe:ro" -v "$tmp:/out" \
    "$ROOT_IMAGE" /bin/sh /recipe/build-initramfs.sh stock "$KVER" /out/initrd.img
  [ -s "$tmp/initrd.img" ] || die "dracut produced no initramfs"
  cache_commit "$tmp" "$INITRD_DIR"
}
wants initramfs && build_initramfs
[ "$only" = initramfs ] && exit 0

# ---------------------------------------------------------------- LTSP client kernel
LAB_STEP=kernel
KBUILDER_IMAGE="ltsp-lab/kernel-builder:$KBUILDER_KEY"
KERNEL_DIR="$CACHE/kernel-$KERNEL_KEY"
build_kernel() {
  local f tmp
  if [ -d "$KERNEL_DIR" ] && [[ $rebuild == *" kernel "* ]]; then say "rebuilding $KERNEL_DIR (--rebuild kernel)"; rm -rf "$KERNEL_DIR"; fi
  if [ -d "$KERNEL_DIR" ]; then
    for f in vmlinuz kernel-version; do
      [ -s "$KERNEL_DIR/$f" ] || { say "$KERNEL_DIR is damaged ($f is missing): rebuilding it"; rm -rf "$KERNEL_DIR"; break; }
    done
  fi
  [ -d "$KERNEL_DIR" ] && { say "cached $KERNEL_DIR"; return; }
  docker_has_image "$KBUILDER_IMAGE" || docker_build "$KBUILDER_IMAGE" "$here/client/kernel"
  need_space "$CACHE" 64
  cache_begin "$KERNEL_DIR"; tmp=$CACHE_TMP
  container_args kernel
  # The tree (1.3 GB unpacked) and its objects in RAM: the disk is no one's bottleneck then.
  run_logged "$LOGS/kernel-build.log" docker run --rm --network none "${CONTAINER_ARGS[@]}" \
    --tmpfs /build:size=3g,exec -v "$here/client/kernel:/recipe:ro" -v "$tmp:/out" \
    "$KBUILDER_IMAGE" /recipe/build-kernel.sh /out
  for f in vmlinuz kernel-version; do [ -s "$tmp/$f" ] || die "the kernel build left no $f"; done
  say "built $(cat "$tmp/kernel-version"); profile: $(tr -s ' \n' ' ' <"$tmp/build-profile")"
  cache_commit "$tmp" "$KERNEL_DIR"
}
wants kernel && build_kernel
[ "$only" = kernel ] && exit 0

# ---------------------------------------------------------------- LTSP client initramfs
LAB_STEP=initramfs-ltsp
INITRD_LTSP_DIR="$CACHE/initramfs-ltsp-$INITRD_LTSP_KEY"
LTSP_KVER=$(cat "$KERNEL_DIR/kernel-version")
build_initramfs_ltsp() {
  local tmp
  if [ -d "$INITRD_LTSP_DIR" ] && [[ $rebuild == *" initramfs-ltsp "* ]]; then say "rebuilding $INITRD_LTSP_DIR (--rebuild initramfs-ltsp)"; rm -rf "$INITRD_LTSP_DIR"; fi
  [ -s "$INITRD_LTSP_DIR/initrd.img" ] && { say "cached $INITRD_LTSP_DIR"; return; }
  if [ -d "$INITRD_LTSP_DIR" ]; then say "$INITRD_LTSP_DIR is damaged (initrd.img is missing): rebuilding it"; rm -rf "$INITRD_LTSP_DIR"; fi
  need_space "$CACHE" 256
  cache_begin "$INITRD_LTSP_DIR"; tmp=$CACHE_TMP
  container_args initramfs-ltsp
  run_logged "$LOGS/initramfs-ltsp-dracut.log" docker run --rm --network none "${CONTAINER_ARGS[@]}" \
    -v "$here/client/dracut:/recipe:ro" -v "$tmp:/out" \
    "$ROOT_IMAGE" /bin/sh /recipe/build-initramfs.sh ltsp "$LTSP_KVER" /out/initrd.img
  [ -s "$tmp/initrd.img" ] || die "dracut produced no initramfs"
  cache_commit "$tmp" "$INITRD_LTSP_DIR"
}
wants initramfs-ltsp && build_initramfs_ltsp
[ "$only" = initramfs-ltsp ] && exit 0

LAB_STEP=manifest; export LAB_STEP
manifest=$(cat <<JSON
{
  "cache": "$CACHE",
  "baseImage": "$BASE_IMAGE",
  "serverImage": "$SERVER_IMAGE",
  "rootImageTag": "$ROOT_IMAGE",
  "rootImage": "$ROOT_DIR/root.ext4",
  "rootSha256": "$(cat "$ROOT_DIR/root.ext4.sha256")",
  "kernel": "$ROOT_DIR/vmlinuz",
  "kernelVersion": "$KVER",
  "initrd": "$INITRD_DIR/initrd.img",
  "clients": {
    "ltsp": { "kernel": "$KERNEL_DIR/vmlinuz", "initrd": "$INITRD_LTSP_DIR/initrd.img", "kernelVersion": "$LTSP_KVER" },
    "stock": { "kernel": "$ROOT_DIR/vmlinuz", "initrd": "$INITRD_DIR/initrd.img", "kernelVersion": "$KVER" }
  },
  "ltsp23": { "imageName": "$LTSP23_IMAGE_NAME", "image": "$LTSP23_DIR/$LTSP23_IMAGE_NAME.img", "kernel": "$LTSP23_DIR/vmlinuz", "initrd": "$LTSP23_DIR/initrd.img", "ipxe": "$LTSP23_DIR/ltsp.ipxe", "kernelVersion": "$(cat "$LTSP23_DIR/kernel-version")" },
  "keys": $(keys_json)
}
JSON
)
printf '%s\n' "$manifest" >"$CACHE/manifest.json.tmp" && mv "$CACHE/manifest.json.tmp" "$CACHE/manifest.json"
[ -n "$manifest_out" ] && printf '%s\n' "$manifest" >"$manifest_out"
printf '%s\n' "$manifest"
say "done"

#!/usr/bin/env bash
# The one build entry point for everything the lab boots and serves.
#
#   vm-images/build.sh [--only base|server|root|initramfs|kernel|initramfs-ltsp|ltsp23]
#                      [--rebuild root|initramfs|kernel|initramfs-ltsp]... [--manifest FILE] [--keys]
#                      [--nbd-server 3.21|3.24|3.26|3.27|oldstyle] [--nbd-client 3.21|3.24|3.26|3.27]
#                      [--stack k12|ltsp23] [--kinds ltsp,stock]
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
#   nbd-V      docker image ltsp-lab/nbd:V-KEY  /opt/nbd-V: nbd-server and nbd-client V with
#              their loader and libraries (vm-images/nbd/: from source, or a suite's .debs
#              FROM that suite's base ltsp-lab/base-SUITE:KEY); only for a non-stock version
#   --nbd-server V  the server image with V's nbd-server (or nbdkit --oldstyle), and
#   --nbd-client V  each client kind's initramfs with V's nbd-client: the manifest then
#              names those, and its "nbd" says which versions (3.24, the stock, by default)
#   --stack ltsp23  the ltsp23 stack as well (docs/ltsp23-lane.md); the manifest's "ltsp23"
#              names its files and its image's name (LTSP's, per architecture):
#   root-ltsp23  docker image ltsp-lab/client-root-ltsp23:KEY  its client root (FROM base:
#              Debian's kernel, initramfs-tools, nbd-client, ltsp; no dracut)
#   ltsp23     CACHE/ltsp23-KEY/{IMAGE.img,vmlinuz,initrd.img,ltsp.ipxe,kernel-version}  what
#              LTSP 23's own `ltsp image` (and the `ltsp kernel` it runs) and `ltsp ipxe` make
#              of that root, in a container of the server image (ltsp23/prepare.sh)
# The manifest's "clients" names each client kind's kernel, initramfs and kernel version
# (ltsp, stock): their one place in it.
#   --kinds K[,K]  only these client kinds' kernel and initramfs (default: ltsp,stock);
#              the manifest names only them, and is printed, not written to
#              CACHE/manifest.json (./lab bisect builds only the kind it boots)
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
# shellcheck source=nbd/versions.sh
. "$here/nbd/versions.sh"
nbd_server="$NBD_STOCK"
nbd_client="$NBD_STOCK"
stack=k12
kinds=ltsp,stock
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 ;;
    --manifest) manifest_out="${2:-}"; shift 2 ;;
    --keys) keys_only=1; shift ;;
    --rebuild)
      case "${2:-}" in root|initramfs|kernel|initramfs-ltsp) LAB_REBUILD+="$2 " ;; *) LAB_STEP=args die "--rebuild takes root, initramfs, kernel or initramfs-ltsp, not '${2:-}'" ;; esac
      shift 2 ;;
    --nbd-server) nbd_server="${2:-}"; shift 2 ;;
    --nbd-client) nbd_client="${2:-}"; shift 2 ;;
    --stack) stack="${2:-}"; shift 2 ;;
    --kinds) kinds="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) LAB_STEP=args die "unknown option '$1' (see --help)" ;;
  esac
done
case "$only" in ""|base|server|root|initramfs|kernel|initramfs-ltsp|ltsp23) ;; *) LAB_STEP=args die "--only takes base, server, root, initramfs, kernel, initramfs-ltsp or ltsp23, not '$only'" ;; esac
case "$stack" in k12|ltsp23) ;; *) LAB_STEP=args die "--stack takes k12 or ltsp23, not '$stack'" ;; esac
case "$kinds" in ltsp|stock|ltsp,stock|stock,ltsp) ;; *) LAB_STEP=args die "--kinds takes ltsp, stock or ltsp,stock, not '$kinds'" ;; esac
# Whether this run builds a client kind's kernel and initramfs (--kinds).
wants_kind() {  # kind
  case ",$kinds," in *",$1,"*) return 0 ;; esac
  return 1
}
[ "$only" = ltsp23 ] && stack=ltsp23
case " $NBD_SERVER_VERSIONS " in *" $nbd_server "*) ;; *) LAB_STEP=args die "--nbd-server takes one of $NBD_SERVER_VERSIONS, not '$nbd_server'" ;; esac
case " $NBD_VERSIONS " in *" $nbd_client "*) ;; *) LAB_STEP=args die "--nbd-client takes one of $NBD_VERSIONS, not '$nbd_client'" ;; esac
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
  server/rootfs/etc/init.d/nbd-server server/rootfs/etc/init.d/ltsp-dnsmasq server/rootfs/etc/init.d/ltsp-httpd server/rootfs/etc/init.d/ltsp-sshd \
  server/rootfs/usr/local/lib/ltsp-server/daemon-init.sh server/rootfs/etc/inittab \
  server/rootfs/etc/systemd/system/ltsp-dnsmasq.service server/rootfs/etc/systemd/system/ltsp-httpd.service server/rootfs/etc/systemd/system/ltsp-sshd.service \
  server/rootfs/etc/nbd-server/config server/rootfs/etc/sysconfig/nbd-server \
  server/rootfs/etc/systemd/system/nbd-server.service server/rootfs/srv/tftp/boot.ipxe
require_files root client/root/Dockerfile client/root/src/ltsp-nbd-persist.c
require_files initramfs client/dracut/build-initramfs.sh client/dracut/conf.d/10-ltsp-lab.conf \
  client/dracut/90ltsp-union/module-setup.sh client/dracut/90ltsp-union/ltsp-union.sh \
  client/dracut/90ltsp-union/ltsp-test-delay.sh client/dracut/90ltsp-union/ltsp-test-delay-nbd.sh \
  client/dracut/90ltsp-union/ltsp-test-delay-root.sh client/dracut/90ltsp-union/ltsp-nbd-persist.sh \
  client/dracut/90ltsp-union/ltsp-check.sh client/dracut/90ltsp-union/ltsp-union-method.sh
require_files nbd nbd/versions.sh nbd/bundle.sh nbd/Dockerfile.binary nbd/Dockerfile.source nbd/Dockerfile.server \
  nbd/Dockerfile.oldstyle nbd/Dockerfile.client-root
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
LAB_STEP=nbd
# An nbd version's builder: its recipe, the recipe's files and the base it is built FROM.
nbd_key() {  # version
  local how suite
  read -r how suite _ < <(nbd_recipe "$1")
  case "$how" in
    source) recipe_hash "nbd-v1 $1 $BASE_KEY$SALT" "$here/nbd/versions.sh" "$here/nbd/bundle.sh" "$here/nbd/Dockerfile.source" ;;
    binary) recipe_hash "nbd-v1 $1 $(suite_base_key "$suite")$SALT" "$here/nbd/versions.sh" "$here/nbd/bundle.sh" "$here/nbd/Dockerfile.binary" ;;
  esac
}
suite_base_key() { recipe_hash "base-v1 suite=$1$SALT" "$here/base/recipe.sh" "$here/base/rootfs"; }
NBD_SERVER_KEY=""
NBD_CLIENT_KEY=""
case "$nbd_server" in
  "$NBD_STOCK") ;;
  oldstyle) NBD_SERVER_KEY=$(recipe_hash "server-oldstyle-v1 $SERVER_KEY port=$NBD_OLDSTYLE_PORT$SALT" "$here/nbd/Dockerfile.oldstyle") ;;
  *) NBD_SERVER_KEY=$(recipe_hash "server-nbd-v1 $SERVER_KEY $(nbd_key "$nbd_server")$SALT" "$here/nbd/Dockerfile.server") ;;
esac
[ "$nbd_client" = "$NBD_STOCK" ] || NBD_CLIENT_KEY=$(recipe_hash "client-nbd-v1 $ROOT_KEY $(nbd_key "$nbd_client")$SALT" "$here/nbd/Dockerfile.client-root")
LAB_STEP=ltsp23
ROOT_LTSP23_KEY=""
LTSP23_KEY=""
if [ "$stack" = ltsp23 ]; then
  ROOT_LTSP23_KEY=$(recipe_hash "root-ltsp23-v1 $BASE_KEY$SALT" "$here/ltsp23/client")
  # Made by the ltsp the server image installs: keyed by the Dockerfile that installs it,
  # not by the server's scripts (a change of those does not remake LTSP's image).
  LTSP23_KEY=$(recipe_hash "ltsp23-v1 $ROOT_LTSP23_KEY $BASE_KEY$SALT" "$here/server/Dockerfile" "$here/ltsp23/prepare.sh")
fi
# LTSP names an image by its chroot's folder; ltsp.ipxe's default for a 64-bit client.
LTSP23_IMAGE_NAME=x86_64
keys_json() {
  printf '{ "base": "%s", "server": "%s", "root": "%s", "initramfs": "%s", "kernel": "%s", "initramfs-ltsp": "%s"' \
    "$BASE_KEY" "$SERVER_KEY" "$ROOT_KEY" "$INITRD_KEY" "$KERNEL_KEY" "$INITRD_LTSP_KEY"
  [ -z "$NBD_SERVER_KEY" ] || printf ', "nbd-server": "%s"' "$NBD_SERVER_KEY"
  [ -z "$NBD_CLIENT_KEY" ] || printf ', "nbd-client": "%s"' "$NBD_CLIENT_KEY"
  [ -z "$LTSP23_KEY" ] || printf ', "root-ltsp23": "%s", "ltsp23": "%s"' "$ROOT_LTSP23_KEY" "$LTSP23_KEY"
  printf ' }'
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
# A Debian suite's base as a docker image: debootstrap (minbase + base/rootfs) into
# CACHE/NAME-KEY/rootfs.tar, cached by key, then docker import.
#   import_suite_base SUITE IMAGE FOLDER ARTEFACT SOURCES
# SOURCES is the apt sources.list the image keeps, @MIRROR@ standing for the mirror.
import_suite_base() {
  local suite="$1" image="$2" final="$3" artefact="$4" sources="$5" tmp mirror
  docker_has_image "$image" && { say "cached $image"; return; }
  if [ ! -f "$final/rootfs.tar" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (./lab installs it)"
    need_space "$CACHE" 1024
    cache_begin "$final"; tmp=$CACHE_TMP
    mirror=$(debian_mirror)
    run_logged "$LOGS/$artefact-debootstrap.log" debootstrap --variant="$BASE_VARIANT" \
      --include="$BASE_INCLUDE" "$suite" "$tmp/rootfs" "$mirror"
    cp -a "$here/base/rootfs/." "$tmp/rootfs/"
    printf '%b' "${sources//@MIRROR@/$mirror}" >"$tmp/rootfs/etc/apt/sources.list"
    rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
    say "packing rootfs"
    tar -C "$tmp/rootfs" --numeric-owner -cf "$tmp/rootfs.tar" . || die "tar of the $suite base rootfs failed"
    rm -rf "$tmp/rootfs"
    cache_commit "$tmp" "$final"
  fi
  say "docker import -> $image"
  docker import --change "LABEL ltsp-lab.artefact=$artefact" --change 'CMD ["/bin/bash"]' \
    "$final/rootfs.tar" "$image" >/dev/null || die "docker import failed"
}
build_base() {
  import_suite_base "$BASE_SUITE" "$BASE_IMAGE" "$CACHE/base-$BASE_KEY" base \
    "deb @MIRROR@ $BASE_SUITE main\ndeb @MIRROR@ $BASE_SUITE-updates main\n"
}
build_base
[ "$only" = base ] && exit 0

# Another suite's base (bullseye, sid), for an nbd version that is only that suite's
# binary package (vm-images/nbd/versions.sh): debootstrap minbase + docker import, with
# the suite's own main as its only apt source. Sets SUITE_BASE_IMAGE.
build_suite_base() {  # suite
  local suite="$1" key
  key=$(suite_base_key "$suite")
  SUITE_BASE_IMAGE="ltsp-lab/base-$suite:$key"
  # The suite's own main only.
  import_suite_base "$suite" "$SUITE_BASE_IMAGE" "$CACHE/base-$suite-$key" "base-$suite" "deb @MIRROR@ $suite main\n"
}

# A docker build of one of vm-images/nbd/'s Dockerfiles, with its build arguments.
docker_build_nbd() {  # tag dockerfile log-name build-arg...
  local tag="$1" file="$2" name="$3" a args=()
  shift 3
  for a in "$@"; do args+=(--build-arg "$a"); done
  need_space "$(docker info -f '{{.DockerRootDir}}')" 1024
  run_logged "$LOGS/$name-docker-build.log" docker build --network default --pull=false --force-rm \
    "${args[@]}" --label "ltsp-lab.artefact=$name" -f "$here/nbd/$file" -t "$tag" "$here/nbd"
}

# An nbd version's builder image, holding /opt/nbd-VERSION. Sets NBD_IMAGE.
build_nbd() {  # version
  local v="$1" how suite debver LAB_STEP="nbd-$1"
  read -r how suite debver < <(nbd_recipe "$v")
  NBD_IMAGE="ltsp-lab/nbd:$v-$(nbd_key "$v")"
  docker_has_image "$NBD_IMAGE" && { say "cached $NBD_IMAGE"; return; }
  case "$how" in
    source) docker_build_nbd "$NBD_IMAGE" Dockerfile.source "nbd-$v" "BASE=$BASE_IMAGE" \
              "NBD_VERSION=$v" "NBD_DEBVER=$debver" "MIRROR=$(debian_mirror)" ;;
    binary) build_suite_base "$suite"
            docker_build_nbd "$NBD_IMAGE" Dockerfile.binary "nbd-$v" "BASE=$SUITE_BASE_IMAGE" \
              "NBD_VERSION=$v" "NBD_DEBVER=$debver" ;;
    *) die "nbd $v has no builder (it is the stock one)" ;;
  esac
}

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
# The server with the asked nbd-server version; the stock one is the image above.
LAB_STEP=nbd-server
SERVED_IMAGE="$SERVER_IMAGE"
if wants server && [ -n "$NBD_SERVER_KEY" ]; then
  if [ "$nbd_server" = oldstyle ]; then
    SERVED_IMAGE="ltsp-lab/server-oldstyle:$NBD_SERVER_KEY"
    if docker_has_image "$SERVED_IMAGE"; then say "cached $SERVED_IMAGE"; else
      docker_build_nbd "$SERVED_IMAGE" Dockerfile.oldstyle server-oldstyle "SERVER=$SERVER_IMAGE" "PORT=$NBD_OLDSTYLE_PORT"
    fi
  else
    SERVED_IMAGE="ltsp-lab/server-nbd:$nbd_server-$NBD_SERVER_KEY"
    if docker_has_image "$SERVED_IMAGE"; then say "cached $SERVED_IMAGE"; else
      build_nbd "$nbd_server"
      docker_build_nbd "$SERVED_IMAGE" Dockerfile.server "server-nbd-$nbd_server" "SERVER=$SERVER_IMAGE" "NBD=$NBD_IMAGE" "NBD_VERSION=$nbd_server"
    fi
  fi
fi
[ "$only" = server ] && exit 0

# ---------------------------------------------------------------- the ltsp23 stack
LAB_STEP=ltsp23
ROOT_LTSP23_IMAGE="ltsp-lab/client-root-ltsp23:$ROOT_LTSP23_KEY"
LTSP23_DIR="$CACHE/ltsp23-$LTSP23_KEY"
build_ltsp23() {
  local tmp cid n="$LTSP23_IMAGE_NAME" loops=() l
  drop_if_stale ltsp23 "$LTSP23_DIR" missing_file "$LTSP23_DIR" "$n.img" vmlinuz initrd.img ltsp.ipxe kernel-version
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
  : >"$tmp/srv-ltsp/$n/etc/resolv.conf"
  rm -f "$tmp/srv-ltsp/$n/.dockerenv"
  find "$tmp/srv-ltsp/$n/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1 >"$tmp/kernel-version"
  [ -s "$tmp/kernel-version" ] || die "no kernel in the ltsp23 client root"
  container_args ltsp23-prepare
  # `ltsp image` overlays the chroot and `ltsp kernel` loop-mounts the squashfs: this
  # build step gets CAP_SYS_ADMIN and the host's loop devices (not --privileged: Docker
  # here cannot grant every capability); the lab's running server never gets either.
  for l in /dev/loop-control /dev/loop[0-9]*; do { [ -b "$l" ] || [ -c "$l" ]; } && loops+=(--device "$l"); done
  [ ${#loops[@]} -ge 4 ] || die "no loop devices on this host (/dev/loop*): ltsp kernel loop-mounts the squashfs"
  run_logged "$LOGS/ltsp23-prepare.log" docker run --rm --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
    "${loops[@]}" --network none "${CONTAINER_ARGS[@]}" \
    --entrypoint /bin/sh -v "$here/ltsp23/prepare.sh:/prepare.sh:ro" \
    -v "$tmp/srv-ltsp:/srv/ltsp" -v "$tmp/tftp:/srv/tftp" "$SERVER_IMAGE" /prepare.sh "$n"
  mv "$tmp/srv-ltsp/images/$n.img" "$tmp/$n.img"
  mv "$tmp/tftp/ltsp/$n/vmlinuz" "$tmp/tftp/ltsp/$n/initrd.img" "$tmp/tftp/ltsp/ltsp.ipxe" "$tmp/"
  rm -rf "$tmp/srv-ltsp" "$tmp/tftp"
  cache_commit "$tmp" "$LTSP23_DIR"
}
[ "$stack" = ltsp23 ] && wants ltsp23 && build_ltsp23
[ "$only" = ltsp23 ] && exit 0

# ---------------------------------------------------------------- client root
LAB_STEP=root
ROOT_IMAGE="ltsp-lab/client-root:$ROOT_KEY"
ROOT_DIR="$CACHE/root-$ROOT_KEY"
# What is wrong with a finished root folder, or nothing: a file a boot needs is missing,
# or root.ext4 is not the size it was built with. Its checksum is the harness's check,
# once per run (hashing 1 GB on every build call would cost seconds).
root_damage() {
  local missing size
  missing=$(missing_file "$ROOT_DIR" root.ext4 root.ext4.sha256 vmlinuz kernel-version)
  [ -z "$missing" ] || { printf '%s' "$missing"; return 0; }
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
heal_root() {  # what is wrong
  [ "$1" = "vmlinuz is missing" ] && docker_has_image "$ROOT_IMAGE" || return 1
  heal_kernel
}
build_root() {
  drop_if_stale --heal heal_root root "$ROOT_DIR" root_damage
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
  drop_if_stale initramfs "$INITRD_DIR" missing_file "$INITRD_DIR" initrd.img
  [ -d "$INITRD_DIR" ] && { say "cached $INITRD_DIR"; return; }
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
wants initramfs && wants_kind stock && build_initramfs
[ "$only" = initramfs ] && exit 0

# ---------------------------------------------------------------- LTSP client kernel
LAB_STEP=kernel
KBUILDER_IMAGE="ltsp-lab/kernel-builder:$KBUILDER_KEY"
KERNEL_DIR="$CACHE/kernel-$KERNEL_KEY"
build_kernel() {
  local f tmp
  drop_if_stale kernel "$KERNEL_DIR" missing_file "$KERNEL_DIR" vmlinuz kernel-version
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
wants kernel && wants_kind ltsp && build_kernel
[ "$only" = kernel ] && exit 0

# ---------------------------------------------------------------- LTSP client initramfs
LAB_STEP=initramfs-ltsp
INITRD_LTSP_DIR="$CACHE/initramfs-ltsp-$INITRD_LTSP_KEY"
LTSP_KVER=""
wants_kind ltsp && LTSP_KVER=$(cat "$KERNEL_DIR/kernel-version")
build_initramfs_ltsp() {
  local tmp
  drop_if_stale initramfs-ltsp "$INITRD_LTSP_DIR" missing_file "$INITRD_LTSP_DIR" initrd.img
  [ -d "$INITRD_LTSP_DIR" ] && { say "cached $INITRD_LTSP_DIR"; return; }
  need_space "$CACHE" 256
  cache_begin "$INITRD_LTSP_DIR"; tmp=$CACHE_TMP
  container_args initramfs-ltsp
  run_logged "$LOGS/initramfs-ltsp-dracut.log" docker run --rm --network none "${CONTAINER_ARGS[@]}" \
    -v "$here/client/dracut:/recipe:ro" -v "$tmp:/out" \
    "$ROOT_IMAGE" /bin/sh /recipe/build-initramfs.sh ltsp "$LTSP_KVER" /out/initrd.img
  [ -s "$tmp/initrd.img" ] || die "dracut produced no initramfs"
  cache_commit "$tmp" "$INITRD_LTSP_DIR"
}
wants initramfs-ltsp && wants_kind ltsp && build_initramfs_ltsp
[ "$only" = initramfs-ltsp ] && exit 0

# ---------------------------------------------------------------- nbd-client versions
# Each client kind's initramfs, built as above but in the root image with the asked
# nbd-client version in place of bookworm's.
LAB_STEP=nbd-client
STOCK_INITRD="$INITRD_DIR/initrd.img"
LTSP_INITRD="$INITRD_LTSP_DIR/initrd.img"
build_variant_initramfs() {  # mode kernel-version folder
  local mode="$1" kver="$2" dir="$3" tmp
  [ -s "$dir/initrd.img" ] && { say "cached $dir"; return; }
  rm -rf "$dir"
  need_space "$CACHE" 512
  cache_begin "$dir"; tmp=$CACHE_TMP
  container_args "initramfs-$mode-nbd"
  run_logged "$LOGS/initramfs-$mode-nbd-$nbd_client-dracut.log" docker run --rm --network none "${CONTAINER_ARGS[@]}" \
    -v "$here/client/dracut:/recipe:ro" -v "$tmp:/out" \
    "$CLIENT_NBD_IMAGE" /bin/sh /recipe/build-initramfs.sh "$mode" "$kver" /out/initrd.img "$nbd_client"
  [ -s "$tmp/initrd.img" ] || die "dracut produced no initramfs"
  cache_commit "$tmp" "$dir"
}
if [ -n "$NBD_CLIENT_KEY" ]; then
  CLIENT_NBD_IMAGE="ltsp-lab/client-root-nbd:$nbd_client-$NBD_CLIENT_KEY"
  if docker_has_image "$CLIENT_NBD_IMAGE"; then say "cached $CLIENT_NBD_IMAGE"; else
    build_nbd "$nbd_client"
    docker_build_nbd "$CLIENT_NBD_IMAGE" Dockerfile.client-root "client-root-nbd-$nbd_client" "ROOT=$ROOT_IMAGE" "NBD=$NBD_IMAGE" "NBD_VERSION=$nbd_client"
  fi
  if wants_kind stock; then
    build_variant_initramfs stock "$KVER" "$CACHE/initramfs-$INITRD_KEY-nbd-$nbd_client-$NBD_CLIENT_KEY"
    STOCK_INITRD="$CACHE/initramfs-$INITRD_KEY-nbd-$nbd_client-$NBD_CLIENT_KEY/initrd.img"
  fi
  if wants_kind ltsp; then
    build_variant_initramfs ltsp "$LTSP_KVER" "$CACHE/initramfs-ltsp-$INITRD_LTSP_KEY-nbd-$nbd_client-$NBD_CLIENT_KEY"
    LTSP_INITRD="$CACHE/initramfs-ltsp-$INITRD_LTSP_KEY-nbd-$nbd_client-$NBD_CLIENT_KEY/initrd.img"
  fi
fi

LAB_STEP=manifest; export LAB_STEP
# The ltsp23 stack's files, when this build made them (--stack ltsp23).
ltsp23_json() {
  [ "$stack" = ltsp23 ] || return 0
  printf '\n  "ltsp23": { "imageName": "%s", "image": "%s", "kernel": "%s", "initrd": "%s", "ipxe": "%s", "kernelVersion": "%s" },' \
    "$LTSP23_IMAGE_NAME" "$LTSP23_DIR/$LTSP23_IMAGE_NAME.img" "$LTSP23_DIR/vmlinuz" "$LTSP23_DIR/initrd.img" "$LTSP23_DIR/ltsp.ipxe" "$(cat "$LTSP23_DIR/kernel-version")"
}
# Each built kind's files, as JSON members.
clients_json() {
  local sep=""
  if wants_kind ltsp; then
    printf '\n    "ltsp": { "kernel": "%s", "initrd": "%s", "kernelVersion": "%s" }' "$KERNEL_DIR/vmlinuz" "$LTSP_INITRD" "$LTSP_KVER"
    sep=","
  fi
  if wants_kind stock; then
    printf '%s\n    "stock": { "kernel": "%s", "initrd": "%s", "kernelVersion": "%s" }' "$sep" "$ROOT_DIR/vmlinuz" "$STOCK_INITRD" "$KVER"
  fi
  printf '\n  '
}
manifest=$(cat <<JSON
{
  "cache": "$CACHE",
  "baseImage": "$BASE_IMAGE",
  "serverImage": "$SERVED_IMAGE",
  "rootImageTag": "$ROOT_IMAGE",
  "rootImage": "$ROOT_DIR/root.ext4",
  "rootSha256": "$(cat "$ROOT_DIR/root.ext4.sha256")",
  "clients": { $(clients_json) },
  "nbd": { "server": "$nbd_server", "client": "$nbd_client" },$(ltsp23_json)
  "keys": $(keys_json)
}
JSON
)
# CACHE/manifest.json is the stock set's, whole; a build with other nbd versions, or of
# some client kinds only, prints its own.
if [ -z "$NBD_SERVER_KEY$NBD_CLIENT_KEY" ] && [ "$kinds" != ltsp ] && [ "$kinds" != stock ]; then
  printf '%s\n' "$manifest" >"$CACHE/manifest.json.tmp" && mv "$CACHE/manifest.json.tmp" "$CACHE/manifest.json"
fi
[ -n "$manifest_out" ] && printf '%s\n' "$manifest" >"$manifest_out"
printf '%s\n' "$manifest"
say "done"

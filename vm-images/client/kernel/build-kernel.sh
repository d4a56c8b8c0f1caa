#!/bin/bash
# Runs inside the kernel-builder image (vm-images/build.sh, step kernel): builds the LTSP
# client kernel from bookworm's linux-source-6.1 with the lab's own config.
#   build-kernel.sh OUT_DIR
# Writes OUT_DIR/{vmlinuz,kernel-version,config,System.map,build-profile} (System.map names
# the addresses of a stack trace: the kernel has no kallsyms). Prints a progress line
# every 15 s (objects compiled so far), not make's own line per object (in OUT_DIR/make.log).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
fragment="$here/ltsp-client.config"
# 2 cores: one job more than cores keeps both busy while one job waits on the disk.
jobs="${LTSP_LAB_KERNEL_JOBS:-$(( $(nproc) + 1 ))}"
src=/build/linux-source-6.1
t0=$(date +%s)
phase_t=$t0
profile="$out/build-profile"
: >"$profile"
say() { printf 'kernel %4ss: %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
fail() { say "FAILED: $*"; exit 1; }
phase() {  # the end of a phase: its time goes into the build's profile
  local now; now=$(date +%s)
  printf '%-10s %4s s\n' "$1" "$(( now - phase_t ))" >>"$profile"
  phase_t=$now
}
export ARCH=x86_64 KBUILD_BUILD_USER=ltsp-lab KBUILD_BUILD_HOST=ltsp-lab
# The build's date is the source's, so that the same recipe gives the same banner.
KBUILD_BUILD_TIMESTAMP="$(date -u -r /usr/src/linux-source-6.1.tar.xz '+%Y-%m-%d')"
export KBUILD_BUILD_TIMESTAMP

say "unpacking linux-source-6.1 ($(dpkg-query -W -f '${Version}' linux-source-6.1))"
mkdir -p /build
# The tarball is xz in blocks: two threads unpack it in half the time. (Kconfig reads
# files all over the tree, Documentation and the other architectures too: no excludes.)
xz -T0 -dc /usr/src/linux-source-6.1.tar.xz | tar -C /build -xf -
phase unpack
cd "$src"

say "config: allnoconfig + $(grep -c '^[^#]\|^# CONFIG_' "$fragment") lines of ltsp-client.config"
# merge_config.sh -n: `make allnoconfig` with the fragment as KCONFIG_ALLCONFIG, so that an
# option the fragment makes visible (IPv6 under INET, the NIC vendors under ETHERNET)
# is off too, not given its default as olddefconfig would.
: >/build/empty.config
scripts/kconfig/merge_config.sh -n -O . /build/empty.config "$fragment" >/build/merge.log
make -s olddefconfig
# Every line of the fragment must hold: a symbol Kconfig dropped (a dependency missing,
# a name that does not exist in this kernel) would otherwise go unnoticed until a boot.
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qxF -- "$line" .config || { say "config line did not stick: '$line' (.config has: '$(grep -E "^(# )?${line%%=*}[= ]" .config || echo nothing)')"; missing=1; } ;;
    "# CONFIG_"*" is not set")
      sym=${line#\# }; sym=${sym%% *}
      if grep -q "^$sym=" .config; then say "config line did not stick: '$line' (.config has: '$(grep "^$sym=" .config)')"; missing=1; fi ;;
  esac
done <"$fragment"
[ "$missing" = 0 ] || fail "ltsp-client.config does not hold over allnoconfig (see the lines above)"
release=$(make -s kernelrelease)
say "config holds: $release, $(grep -c '=y$' .config) options built in, $(grep -c '=m$' .config) modules"
[ "$(grep -c '=m$' .config)" = 0 ] || fail "the config has modules"
phase config

say "make -j$jobs bzImage"
make -j"$jobs" bzImage >"$out/make.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do kill -0 "$pid" 2>/dev/null && sleep 1; done
  kill -0 "$pid" 2>/dev/null || break
  say "compiling: $(grep -c '^  CC ' "$out/make.log") objects, now: $(tail -n 1 "$out/make.log" | cut -c1-70)"
done
if ! wait "$pid"; then
  tail -n 30 "$out/make.log"
  fail "make bzImage failed (full log: make.log in the build's output)"
fi
phase compile
say "compiled $(grep -c '^  CC ' "$out/make.log") objects"

cp arch/x86/boot/bzImage "$out/vmlinuz"
printf '%s\n' "$release" >"$out/kernel-version"
cp .config "$out/config"; cp System.map "$out/System.map"
printf '%-10s %4s s\n' total "$(( $(date +%s) - t0 ))" >>"$profile"
# CPU time of the whole build (user, then system, of its processes): on a busy host the
# wall-clock time says more about the neighbours than about the build.
# (`times` in this shell, not in a pipe's subshell, which would report its own.)
times >/build/times
printf '%-10s %s\n' cpu "$(tail -n 1 /build/times)" >>"$profile"
say "vmlinuz $(stat -c %s "$out/vmlinuz") bytes; profile: $(tr -s ' \n' ' ' <"$profile")"

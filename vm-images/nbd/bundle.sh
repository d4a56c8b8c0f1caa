#!/bin/sh
# Runs in an nbd builder stage: gathers nbd-server and nbd-client with the loader and
# every library they link, from the builder's own suite, into /opt/nbd-VERSION, and
# points the binaries at them (patchelf), so that a binary of a newer suite runs on the
# bookworm server and client root without their glibc.
#   bundle.sh VERSION SERVER_BINARY CLIENT_BINARY
set -eu
v="$1"; server="$2"; client="$3"
dest="/opt/nbd-$v"
mkdir -p "$dest/bin" "$dest/lib"
cp "$server" "$dest/bin/nbd-server"
cp "$client" "$dest/bin/nbd-client"
loader=$(patchelf --print-interpreter "$dest/bin/nbd-server")
cp -L "$loader" "$dest/lib/"
for b in "$dest/bin/nbd-server" "$dest/bin/nbd-client"; do
  ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    cp -L "$lib" "$dest/lib/"
  done
done
# glibc before 2.34 (bullseye's) dlopens its NSS modules: without its own, the server's
# getgrnam("nbd") would load bookworm's and fail ("Invalid group name: nbd"). dlopen
# searches the executable's DT_RPATH, so they go beside the libraries.
libdir=$(dirname "$(ldd "$dest/bin/nbd-server" | awk '$1 == "libc.so.6" { print $3 }')")
for nss in "$libdir"/libnss_files.so.2 "$libdir"/libnss_dns.so.2 "$libdir"/libnss_compat.so.2; do
  if [ -e "$nss" ]; then cp -L "$nss" "$dest/lib/"; fi
done
for b in "$dest/bin/nbd-server" "$dest/bin/nbd-client"; do
  # --force-rpath: DT_RPATH, unlike DT_RUNPATH, also serves the libraries' own dependencies.
  patchelf --set-interpreter "$dest/lib/$(basename "$loader")" --force-rpath --set-rpath "$dest/lib" "$b"
done
# The bundle runs alone: no library from the host's /lib may be needed.
for b in "$dest/bin/nbd-server" "$dest/bin/nbd-client"; do
  if ldd "$b" | grep -v "$dest/lib" | grep -v ld-linux | grep -q '=> /'; then
    echo "bundle.sh: $b still links outside $dest/lib:" >&2; ldd "$b" >&2; exit 1
  fi
done
# What the binaries say they are (bullseye's 3.21 says "3.18"), and the package they came from.
"$dest/bin/nbd-server" -V 2>&1 | head -n 1 | tee "$dest/server-version"
"$dest/bin/nbd-client" -V 2>&1 | head -n 1 | tee "$dest/client-version"
dpkg-query -W -f '${Package} ${Version}\n' nbd-server nbd-client 2>/dev/null | tee "$dest/packages" || echo "built from source" >"$dest/packages"

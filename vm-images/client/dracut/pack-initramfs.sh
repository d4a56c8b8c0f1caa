#!/bin/sh
# Compresses the ltsp initramfs (the cpio of build-initramfs.sh ltsp) for the LTSP client
# kernel, whose config has this one decompressor (RD_LZ4 in client/kernel/ltsp-client.config).
# Runs in the kernel's builder image (vm-images/build.sh), which has lz4.
#   pack-initramfs.sh CPIO OUTPUT
#
# lz4 (its legacy frame, -l: the one the kernel reads). Measured under TCG on the 2-core host,
# one boot each of the same 36 MB cpio, from the iPXE script's first line to "Run /init"
# (fetch over HTTP, kernel start, unpack), and the unpack alone ("Unpacking initramfs" to
# "Freeing initrd memory"):
#   none  36.3 MB  1.10 s  unpack 0.18 s
#   zstd  13.9 MB  1.12 s  unpack 0.33 s   (-15)
#   lz4   17.9 MB  1.40 s  unpack 0.22 s   (-l -9)
#   gzip  15.4 MB  1.71 s  unpack 0.39 s   (-9)
# The spread between boots is about 0.3 s: none and zstd lead, gzip is last.
set -eu
lz4 -l -9 -q "$1" "$2"

#!/bin/sh
# Compresses the ltsp initramfs (the cpio of build-initramfs.sh ltsp) for the LTSP client
# kernel, whose config has this one decompressor (RD_LZ4 in client/kernel/ltsp-client.config).
# Runs in the kernel's builder image (vm-images/build.sh), which has lz4.
#   pack-initramfs.sh CPIO OUTPUT
#
# lz4 (its legacy frame, -l: the one the kernel reads), chosen by measuring iPXE's HTTP fetch
# plus the kernel's unpack of the same cpio under TCG on the 2-core host:
#   (the figures: being measured)
set -eu
lz4 -l -9 -q "$1" "$2"

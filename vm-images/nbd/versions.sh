# shellcheck shell=bash
# shellcheck disable=SC2034  # read by build.sh, which sources this file
# The nbd versions the lab can serve and boot (docs/nbd-grid.md), and where each comes
# from. harness/client/client-spec.ts lists the same values; a unit test
# (harness/client/nbd-versions.test.ts) keeps the two lists equal.
#
#   version  how     suite     Debian version
#   3.24     stock   bookworm  the base's own nbd-server and nbd-client (the default)
#   3.26     source  bookworm  trixie's source package, built in a bookworm builder
#   3.21     binary  bullseye  bullseye's .debs, with bullseye's loader and libraries
#   3.27     binary  sid       sid's .debs, with sid's loader and libraries
#
# Deviation from issue 24 ("built from those Debian source packages"): only 3.26.1's
# source files download from the one reachable archive. nbd_3.21.orig.tar.gz,
# nbd_3.21-1+deb11u1.dsc, nbd_3.24.orig.tar.gz, nbd_3.24-1.1.diff.gz, nbd_3.27.1-4.dsc,
# nbd_3.27.1-4.debian.tar.xz and nbd_3.27.1.orig.tar.xz answer 404 (checked 2026-12-07);
# the binary .debs of every version answer 200. So 3.21 and 3.27 are the suites' own
# binaries, installed in a builder FROM that suite's debootstrap base.
NBD_VERSIONS="3.21 3.24 3.26 3.27"
NBD_STOCK=3.24
# The server side also has "oldstyle": bookworm's nbdkit --oldstyle serving the root image
# on port NBD_OLDSTYLE_PORT, as an LTSP5 server's nbd-server did (pre-3.10, no names).
NBD_SERVER_VERSIONS="$NBD_VERSIONS oldstyle"
NBD_OLDSTYLE_PORT=2000

nbd_recipe() {  # version -> "how suite debian-version"
  case "$1" in
    3.21) echo "binary bullseye 1:3.21-1+deb11u1" ;;
    3.24) echo "stock bookworm 1:3.24-1.1" ;;
    3.26) echo "source bookworm 3.26.1-6.1" ;;
    3.27) echo "binary sid 1:3.27.1-4" ;;
    *) return 1 ;;
  esac
}

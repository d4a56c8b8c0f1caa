# shellcheck shell=bash
# shellcheck disable=SC2034  # read by build.sh, which sources this file
# The base image every lab image is built FROM: debootstrap minbase bookworm,
# imported with `docker import` (no registry is reachable here).
BASE_SUITE=bookworm
BASE_VARIANT=minbase
# Tools the later `docker build` steps need before their own apt-get runs.
BASE_INCLUDE=ca-certificates

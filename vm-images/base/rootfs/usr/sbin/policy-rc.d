#!/bin/sh
# Image builds must not start daemons from maintainer scripts (invoke-rc.d(8)).
exit 101

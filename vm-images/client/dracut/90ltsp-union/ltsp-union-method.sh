#!/bin/bash
# Which union the ltsp-union module lays over the read-only NBD root, read from the
# kernel command line (sourced by ltsp-check.sh and ltsp-union.sh):
#
#   rd.ltsp.union=unionfs-fuse|overlayfs|none   the method, by name
#   rd.unionfs=1                                the seed's switch: unionfs-fuse
#
# rd.ltsp.union= wins over rd.unionfs=1; neither: none (the plain read-only root). The
# names are the harness's (CLIENT_DIMENSIONS.union in harness/client/client-spec.ts;
# union-method.test.ts keeps the two lists equal).

# shellcheck source=/dev/null
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh

LTSP_UNION_METHODS="unionfs-fuse overlayfs none"

# Prints the method; an unknown name prints it and returns 1.
ltsp_union_method() {
    local m
    if m=$(getarg rd.ltsp.union=); then
        echo "$m"
        case " $LTSP_UNION_METHODS " in
            *" $m "*) return 0 ;;
            *) return 1 ;;
        esac
    fi
    if getargbool 0 rd.unionfs; then echo unionfs-fuse; else echo none; fi
}

#!/bin/bash
# pre-udev hook of the ltsp-union dracut module (sourced by dracut-pre-udev): starts
# ltsp-nbd-persist, which reconnects /dev/nbd0 when nbd-server restarts (see its source,
# vm-images/client/root/src/ltsp-nbd-persist.c). It must listen before nbd-client
# connects: the kernel announces a dead link once, and a server restart right after the
# connect leaves udev's probe of nbd0 stuck, so the initqueue (and pre-mount) never come.
#
# It is about the NBD root, not the union: it runs with rd.unionfs absent too, and
# rd.ltsp.nbd.persist=0 turns it off.
#  - argv[0] "@ltsp-nbd-persist": systemd spares root-storage daemons at switch_root and
#    in its final kill loop (systemd.io/ROOT_STORAGE_DAEMONS). dracut-pre-udev.service
#    has KillMode=process, so the daemon outlives the hook.
#  - SERVER, PORT and EXPORT come from the last root=nbd:... (or netroot=nbd:...), read
#    the way dracut's /sbin/nbdroot reads it: nbd:SERVER:EXPORT[:FSTYPE[:FLAGS[:OPTS]]],
#    where a number in place of EXPORT is a port, and PORT/EXPORT is both.

# shellcheck source=/dev/null
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh

ltsp_nbd_persist_say() {
    echo "<5>ltsp-nbd-persist: $*" >/dev/kmsg 2>/dev/null || echo "ltsp-nbd-persist: $*" >/dev/console
}

ltsp_nbd_persist() {
    local spec rest server field port export_name
    # Once per boot, however often the hook is sourced.
    [ -e /run/ltsp-nbd-persist.started ] && return 0
    if ! getargbool 1 rd.ltsp.nbd.persist; then
        ltsp_nbd_persist_say "off (rd.ltsp.nbd.persist=0)"
        return 0
    fi
    spec=$(getarg root=)
    if [ "${spec%%:*}" != nbd ]; then
        for spec in $(getargs netroot=); do
            [ "${spec%%:*}" = nbd ] && break
        done
    fi
    [ "${spec%%:*}" = nbd ] || return 0

    rest=${spec#nbd:}
    server=${rest%%:*}
    if [ "${server%"${server#?}"}" = "[" ]; then
        server=${rest#[}
        server=${server%%]:*}
        rest=${rest#*]:}
    else
        rest=${rest#*:}
    fi
    field=${rest%%:*}
    case "$field" in
        */*) port=${field%%/*}; export_name=${field#*/} ;;
        *)
            if [ "$field" -gt 0 ] 2>/dev/null; then
                port=$field; export_name=""
            else
                port=10809; export_name=$field
            fi ;;
    esac
    if [ -z "$server" ] || [ -z "$port" ]; then
        ltsp_nbd_persist_say "FAILED: cannot read a server and port from root=$spec"
        return 0
    fi

    : >/run/ltsp-nbd-persist.started
    # The daemon forks once it listens; its exit status says whether it does.
    if ! (exec -a @ltsp-nbd-persist /usr/local/sbin/ltsp-nbd-persist "$server" "$port" "$export_name"); then
        ltsp_nbd_persist_say "FAILED: not started: /dev/nbd0 will not reconnect"
        warn "ltsp-nbd-persist: not started"
    fi
    return 0
}

ltsp_nbd_persist

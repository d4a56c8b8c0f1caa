#!/bin/bash
# Test hook of the ltsp-union dracut module, sourced by the hooks that call it.
#
#   ltsp.test.delay=STAGE:SECONDS[,STAGE:SECONDS...]   e.g. ltsp.test.delay=nbd:20,union:8
#
# sleeps SECONDS at the named boot stage, so the harness's regression gate (harness/gate)
# can be shown to catch a stage that got slower, and to name it. STAGE is the harness's
# stage id (harness/boot/stages.ts) whose time the sleep lands in:
#   nbd    pre-udev hook: before udev finds the NIC, so before the NBD connect
#   root   pre-mount hook: the NBD device is there, the root is not mounted yet
#   union  pre-pivot hook, before the union is laid (ltsp-union.sh)
# A stage this module has no hook for fails the boot at once: a test that meant to slow
# a stage must not pass because nothing was slowed.

# shellcheck source=/dev/null
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

LTSP_TEST_DELAY_STAGES="nbd root union"

ltsp_test_say() {
    echo "<5>ltsp-test: $*" >/dev/kmsg 2>/dev/null || echo "ltsp-test: $*" >/dev/console
}

ltsp_test_delay() {
    local here="$1" spec item stage secs
    spec=$(getarg ltsp.test.delay=) || return 0
    for item in $(echo "$spec" | tr , " "); do
        stage=${item%%:*}
        secs=${item#*:}
        case " $LTSP_TEST_DELAY_STAGES " in
            *" $stage "*) ;;
            *) ltsp_test_say "FAILED: ltsp.test.delay=$spec: no hook for stage '$stage' (this module delays: $LTSP_TEST_DELAY_STAGES)"
               emergency_shell -n ltsp-test "ltsp.test.delay names a stage without a hook"
               return 1 ;;
        esac
        case "$secs" in
            ''|*[!0-9.]*|*.*.*|.*|*.) ltsp_test_say "FAILED: ltsp.test.delay=$spec: '$secs' is not a number of seconds"
               emergency_shell -n ltsp-test "ltsp.test.delay has a bad number"
               return 1 ;;
        esac
        if [ "$stage" = "$here" ]; then
            ltsp_test_say "delaying stage $stage by $secs s"
            sleep "$secs"
        fi
    done
    return 0
}

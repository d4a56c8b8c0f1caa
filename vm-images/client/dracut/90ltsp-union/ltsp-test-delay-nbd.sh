#!/bin/bash
# pre-udev hook: ltsp.test.delay=nbd:SECONDS (see ltsp-test-delay.sh).
# shellcheck source=/dev/null
. /lib/ltsp-test-delay.sh
ltsp_test_delay nbd

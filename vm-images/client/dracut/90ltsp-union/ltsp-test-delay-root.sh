#!/bin/bash
# pre-mount hook: ltsp.test.delay=root:SECONDS (see ltsp-test-delay.sh).
# shellcheck source=/dev/null
. /lib/ltsp-test-delay.sh
ltsp_test_delay root

#!/bin/bash
# Runs inside the nested test host: only the e2e group "power"
# (tests/e2e/testhost.sh run tests/e2e/power-tests.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
export KERNEL VMLINUX GUEST_INITRD
python3 "$here/group-power.py"

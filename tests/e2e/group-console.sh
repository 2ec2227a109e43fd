#!/bin/bash
# Runs the e2e group "console" alone inside the nested test host:
#   tests/e2e/testhost.sh run tests/e2e/group-console.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
export KERNEL VMLINUX GUEST_INITRD
exec python3 "$here/group-console.py"

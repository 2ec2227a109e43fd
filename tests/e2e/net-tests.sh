#!/bin/bash
# Runs inside the nested test host (tests/e2e/testhost.sh run): the "net"
# group alone (virtio-net over tap and slirp).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
export KERNEL VMLINUX GUEST_INITRD
python3 "$here/group-net.py"

#!/bin/bash
# Runs inside the nested test host (tests/e2e/testhost.sh run): the kvm
# tier's tiny guests on real (emulated) SVM, then the stock-kernel checks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
export KERNEL VMLINUX GUEST_INITRD
"$here/../kvm/run.sh"
"$here/../kvm/run.sh" --nested
python3 "$here/group-core.py"
python3 "$here/group-smbios.py"
python3 "$here/group-virtio.py"
python3 "$here/group-console.py"
python3 "$here/group-blk.py"
python3 "$here/group-acpi.py"
python3 "$here/group-power.py"
python3 "$here/group-net.py"
exit 0

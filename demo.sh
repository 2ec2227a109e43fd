#!/bin/bash
# Boot a demo guest: Debian's stock kernel with a busybox initramfs.
#   ./demo.sh            interactive on hosts with hardware virtualization,
#                        else inside the nested test host (non-interactive)
#   ./demo.sh --nested   always inside the nested test host
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
tests/deps.sh
make -s all
tests/e2e/testhost.sh prepare >&2
# shellcheck disable=SC1090
. "$(tests/e2e/testhost.sh env)"

if [ "${1:-}" != "--nested" ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "Booting the guest; type 'reboot -f' in it to leave." >&2
	set +e
	build/bhyve -H -P -c 2 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio \
		-o boot.kernel="$KERNEL" -o boot.initrd="$GUEST_INITRD" \
		-o "boot.cmdline=console=ttyS0 quiet bhyvetest=shell" demo
	echo "bhyve exited with status $?" >&2
	exit 0
fi

echo "No hardware virtualization here: running the demo inside the nested test host." >&2
exec tests/e2e/testhost.sh run tests/e2e/demo-guest.sh

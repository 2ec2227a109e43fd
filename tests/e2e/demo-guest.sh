#!/bin/bash
# The demo, inside the nested test host: boot the stock kernel under bhyve,
# type a few commands into its serial console, show the session.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
cmds='uname -a; nproc; lspci; head -1 /proc/meminfo; date; exit'
echo "\$ bhyve -H -P -c 2 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio -o boot.kernel=$KERNEL -o boot.initrd=$GUEST_INITRD -o 'boot.cmdline=console=ttyS0 quiet bhyvetest=script' demo"
echo "(typed into the guest's console once it is up: $cmds)"
log=$(mktemp)
console_session "$log" BHYVE-GUEST-SCRIPT "$cmds
" 600 "$top/build/bhyve" -H -P -c 2 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio \
	-o boot.kernel="$KERNEL" -o boot.initrd="$GUEST_INITRD" \
	-o "boot.cmdline=console=ttyS0 quiet bhyvetest=script" demo
rc=$?
cat "$log"
echo "bhyve exited with status $rc"

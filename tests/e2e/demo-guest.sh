#!/bin/bash
# The demo, inside the nested test host: boot the stock kernel under bhyve,
# type a few commands into its serial console, show the session.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
cmds='uname -a; nproc; lspci; head -1 /proc/meminfo; date; reboot -f'
echo "\$ bhyve -c 2 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio -o boot.kernel=... -o boot.initrd=... -o boot.cmdline=... demo"
echo "(guest commands: $cmds)"
echo "$cmds" | "$top/build/bhyve" -c 2 -m 512M -s 0,hostbridge -s 31,lpc -l com1,stdio \
	-o boot.kernel="$KERNEL" -o boot.initrd="$GUEST_INITRD" \
	-o "boot.cmdline=console=ttyS0 quiet bhyvetest=script" demo
echo "bhyve exited with status $?"

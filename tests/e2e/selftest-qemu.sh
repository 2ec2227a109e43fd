#!/bin/bash
# Self-test of the nested test host, with QEMU as the inner VMM: boots the
# cached Debian kernel + guest initramfs under /dev/kvm of the test host.
# Run from anywhere:  tests/e2e/selftest-qemu.sh
# (re-executes itself inside the test host through testhost.sh run).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${BHYVE_TESTHOST:-}" ]; then
	exec "$here/testhost.sh" run "$here/selftest-qemu.sh" "$@"
fi

# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
logdir=${BHYVE_TEST_RUNDIR:-/tmp}
fails=0
now() { now_ns; }
ms() { elapsed_ms "$@"; }

# qemu_guest MODE LOG [extra qemu args...] : boots the guest, stdin = our stdin
qemu_guest() {
	local mode=$1 logf=$2; shift 2
	timeout 180 qemu-system-x86_64 -enable-kvm -M pc -m 256 -nographic -no-reboot \
		-kernel "${KERNEL_IMAGE:-$KERNEL}" -initrd "$GUEST_INITRD" \
		-append "console=ttyS0 bhyvetest=$mode ${APPEND_EXTRA:-}" "$@" >"$logf" 2>&1
}

check() { # NAME LOG PATTERN T0 T1 [RC]
	local name=$1 logf=$2 pat=$3 t0=$4 t1=$5
	if tr -d '\r' <"$logf" | grep -qE "$pat"; then
		echo "PASS $name ($(ms "$t0" "$t1") ms wall): $(tr -d '\r' <"$logf" | grep -m1 -E 'BHYVE-GUEST-UP' || true)"
	else
		echo "FAIL $name: /$pat/ not found; last lines of $logf:"
		tr -d '\r' <"$logf" | tail -n 20 | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}

echo "selftest: kernel $KVER, test host uptime $(cut -d' ' -f1 /proc/uptime) s, $(nproc) cpus"
[ -c /dev/kvm ] || { echo "FAIL: no /dev/kvm"; exit 1; }

# 1. reboot right after the marker
t0=$(now); qemu_guest reboot "$logdir/selftest-reboot.log" </dev/null || true; t1=$(now)
check reboot "$logdir/selftest-reboot.log" '^BHYVE-GUEST-UP uname=[^ ]+ cpus=1' "$t0" "$t1"

# 2. interactive shell on the serial console, commands sent once the shell is up
t0=$(now)
console_session "$logdir/selftest-shell.log" BHYVE-GUEST-SHELL $'echo hello-from-test; reboot -f\n' 180 \
	qemu-system-x86_64 -enable-kvm -M pc -m 256 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$GUEST_INITRD" -append "console=ttyS0 bhyvetest=shell" || true
t1=$(now)
check shell "$logdir/selftest-shell.log" '^hello-from-test$' "$t0" "$t1"

# 3. script mode, two vCPUs, a module loaded from the initramfs
t0=$(now)
# shellcheck disable=SC2016
console_session "$logdir/selftest-script.log" BHYVE-GUEST-SCRIPT \
	'echo cpus=$(nproc); grep -c virtio_blk /proc/modules; exit 7'$'\n' 180 \
	qemu-system-x86_64 -enable-kvm -M pc -m 256 -smp 2 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$GUEST_INITRD" \
	-append "console=ttyS0 bhyvetest=script bhyvemods=virtio_pci,virtio_blk" || true
t1=$(now)
check script "$logdir/selftest-script.log" 'BHYVE-GUEST-SCRIPT-DONE status=7' "$t0" "$t1"
check script-smp "$logdir/selftest-script.log" '^cpus=2$' "$t0" "$t1"

# 4. the extracted vmlinux, booted by QEMU through its PVH entry note
if [ "${VMLINUX_PVH_ENTRY:-none}" != none ]; then
	t0=$(now); KERNEL_IMAGE=$VMLINUX qemu_guest reboot "$logdir/selftest-pvh.log" </dev/null || true; t1=$(now)
	check vmlinux-pvh "$logdir/selftest-pvh.log" '^BHYVE-GUEST-UP ' "$t0" "$t1"
fi

echo "selftest: $fails failure(s); logs in $logdir"
[ "$fails" = 0 ]

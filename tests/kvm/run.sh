#!/usr/bin/env bash
# kvm tier: tiny project-built guests run under build/bhyve on /dev/kvm.
# Prints "PLAN: N" first (the number of checks it must run), then
# "PASS: kvm/NAME" or "FAIL: kvm/NAME: why" per check.
# Usage: run.sh [--nested] [--plan | --no-plan]
#   --nested   the checks that need real hardware virtualization semantics
#              (run inside the nested test host only)
#   --plan     print N only and exit; --no-plan: no PLAN line (a caller
#              that runs both sets announces their sum)
# Keep PLAN_MAIN and PLAN_NESTED equal to the number of checks below.
PLAN_MAIN=19
PLAN_NESTED=2
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${BHYVE:-$top/build/bhyve}
G=$here/guests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nested=0 planmode=print
for a in "$@"; do
	case $a in
	--nested) nested=1 ;;
	--plan) planmode=only ;;
	--no-plan) planmode=none ;;
	*) echo "usage: $0 [--nested] [--plan | --no-plan]" >&2; exit 2 ;;
	esac
done
nplan=$PLAN_MAIN
[ $nested = 1 ] && nplan=$PLAN_NESTED
[ $planmode = only ] && { echo "$nplan"; exit 0; }
[ $planmode = print ] && echo "PLAN: $nplan"

if [ ! -x "$B" ]; then
	echo "FAIL: kvm/setup: $B not built"
	exit 1
fi
if [ ! -e /dev/kvm ]; then
	echo "FAIL: kvm/setup: /dev/kvm is missing: the kvm tier cannot run"
	exit 1
fi

base=(-H -P -m 64M -s 0,hostbridge -s 31,lpc -l com1,stdio)
printf 'hello initrd' > "$tmp/rd.txt"

# check NAME EXPECTED_STATUS REGEX STDIN -- bhyve args...
check() {
	local name=$1 want=$2 re=$3 input=$4
	shift 5
	local out="$tmp/$name.out" rc
	printf '%b' "$input" | timeout -k 5 60 "$B" "$@" > "$out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: kvm/$name: exit status $rc, expected $want; output:"
		sed 's/^/    /' "$out" | head -20
	elif ! grep -Eq -- "$re" "$out"; then
		echo "FAIL: kvm/$name: output does not match /$re/:"
		sed 's/^/    /' "$out" | head -20
	else
		echo "PASS: kvm/$name"
	fi
}

if [ $nested = 0 ]; then
check pvh-boot 0 'PVH magic=336EC578 cmdline=console=ttyS0 foo modules=00000001 size=0000000C data=hello initrd cmos16m=00000300 hv=00000001 sig=KVMKVMKVM END' '' -- \
	"${base[@]}" -o boot.kernel="$G/pvh.elf" -o boot.initrd="$tmp/rd.txt" \
	-o "boot.cmdline=console=ttyS0 foo" vm1
check bzimage-boot 0 'BZ cmdline=bz test initrd=0000000C e820=00000005 loader=000000FF END' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzimage.bin" -o boot.initrd="$tmp/rd.txt" \
	-o "boot.cmdline=bz test" vm1
check elf64-boot 0 'LONG64 cmdline=l64 END' '' -- \
	"${base[@]}" -o boot.kernel="$G/long64.elf" -o boot.cmdline=l64 vm1
check bzimage-host-decompress-xz 0 'LONG64 cmdline=xz END' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzxz.bin" -o boot.decompress=true \
	-o boot.cmdline=xz vm1
check bzimage-host-decompress-gzip 0 'LONG64 cmdline=gz END' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzgz.bin" -o boot.decompress=true \
	-o boot.cmdline=gz vm1
check bzimage-guest-decompress 0 'BZ cmdline=own initrd' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzxz.bin" -o boot.cmdline=own vm1
check bzimage-decompress-impossible 4 'boot.decompress: .* cannot be decompressed' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzimage.bin" -o boot.decompress=true vm1
check bzimage-corrupt-payload 4 'xz payload: decoder error' '' -- \
	"${base[@]}" -o boot.kernel="$G/bzxz-bad.bin" -o boot.decompress=true vm1
check serial-input 0 'ECHO READY.*' 'ab\ncq' -- \
	"${base[@]}" -o boot.kernel="$G/echo.elf" vm1
grep -q '\[a\]\[b\]\[' "$tmp/serial-input.out" && grep -q '\]\[c\] END' "$tmp/serial-input.out" \
	&& echo "PASS: kvm/serial-input-bytes" || echo "FAIL: kvm/serial-input-bytes: echoed bytes missing"
check uart-irq 0 'IRQ4 delivered iir=00000002 END' '' -- \
	"${base[@]}" -o boot.kernel="$G/irq.elf" vm1
check unhandled-port 0 'PORT 1234=000000FF END' '' -- \
	"${base[@]}" -o boot.kernel="$G/badport.elf" vm1
check strictio 4 'unhandled inb of port 0x1234' '' -- \
	"${base[@]}" -e -o boot.kernel="$G/badport.elf" vm1
check msr-ignored 0 'MSR=00000000 END' '' -- \
	"${base[@]}" -w -o boot.kernel="$G/msr.elf" vm1
check msr-strict-gp 3 'MSR=' '' -- \
	"${base[@]}" -o boot.kernel="$G/msr.elf" vm1
# Queued console writes: everything arrives, in order, the divisor-latch
# write is not transmitted, and the tail (written just before the CPU stops
# for good, so no exit follows it) arrives while bhyve still runs.
burst_want="BURST $(printf '0123456789%.0s' $(seq 30)) DLL=00000021 TAIL"
"$B" "${base[@]}" -o boot.kernel="$G/burst.elf" vm1 </dev/null >"$tmp/burst.out" 2>&1 &
bpid=$!
for _ in $(seq 100); do
	grep -q TAIL "$tmp/burst.out" && break
	sleep 0.1
done
if grep -q TAIL "$tmp/burst.out"; then
	kill "$bpid"
	wait "$bpid" 2>/dev/null
	if [ "$(tr -d '\r\n' <"$tmp/burst.out")" = "$burst_want" ]; then
		echo "PASS: kvm/queued-serial-writes"
	else
		echo "FAIL: kvm/queued-serial-writes: output differs:"
		sed 's/^/    /' "$tmp/burst.out" | head -5
	fi
else
	kill "$bpid"
	wait "$bpid" 2>/dev/null
	echo "FAIL: kvm/queued-serial-writes: the tail did not arrive within 10 s while the guest ran:"
	sed 's/^/    /' "$tmp/burst.out" | head -5
fi
check smp-config 0 'PVH magic' '' -- \
	-c 2 "${base[@]}" -o boot.kernel="$G/pvh.elf" vm1
check cmos-4g 0 'cmos16m=0000BF00' '' -- \
	-m 5G -s 31,lpc -l com1,stdio -o boot.kernel="$G/pvh.elf" vm1
check pm-hpet-s5 1 'PM HPET=8086A701 HC=1 TMR=1 CNT=00000001 END' '' -- \
	"${base[@]}" -o boot.kernel="$G/pm.elf" vm1
fi
# Triple fault: the software-nested /dev/kvm of the development machines
# reports an emulation failure instead of a shutdown, so this runs in the
# nested test host only (tests/e2e).
if [ $nested = 1 ]; then
check triple-fault 3 'TRIPLE now' '' -- \
	"${base[@]}" -o boot.kernel="$G/triple.elf" vm1
# Halt detection needs KVM's in-kernel halting (real SVM/VMX semantics).
check halt-status-2 2 'HALT now' '' -- \
	-c 2 "${base[@]}" -o boot.kernel="$G/halt.elf" vm1
fi
exit 0

#!/bin/bash
# The whole test suite: unit, cli, kvm and e2e tiers.  Installs what it
# needs, builds, runs every tier and ends with "N passed, N failed".
# A tier that cannot run counts as failed, loudly.  Every tier but unit
# announces its plan ("PLAN: N" first) and fails when it reports fewer
# (or more) PASS:/FAIL: lines.  Without a usable /dev/kvm (CI), the cli
# and kvm tiers run inside the nested test host.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0

echo "== dependencies"
tests/deps.sh || { echo "FAIL: setup: cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }
echo "== build"
if ! make -s all build/unit-tests guests >"$log/build" 2>&1; then
	cat "$log/build"
	echo "FAIL: build"
	echo "0 passed, 1 failed"
	exit 1
fi

# unit_run NAME BINARY: runs a cmocka binary, adds its results to the
# totals.  Its plan is the number of test functions in tests/unit/*.c (each
# `static void test_NAME(void **state)` is registered exactly once): a
# binary that runs fewer, or more, is a failure.
uplan=$(cat tests/unit/*.c | grep -cE '^static void test_[a-z0-9_]+\(void \*\*')
unit_run() {
	local name=$1 bin=$2 out="$log/$1" urc up uf
	"$bin" >"$out" 2>&1
	urc=$?
	cat "$out"
	up=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
	uf=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
	up=${up:-0} uf=${uf:-0}
	if [ "$up" = 0 ] || { [ "$urc" != 0 ] && [ "$uf" = 0 ]; }; then
		echo "FAIL: $name: did not run properly (status $urc)"
		uf=$((uf + 1))
	elif [ $((up + uf)) != "$uplan" ]; then
		echo "FAIL: $name: ran $((up + uf)) tests of its plan of $uplan"
		uf=$((uf + 1))
	fi
	pass=$((pass + up)) fail=$((fail + uf))
	echo "== $name: $up passed, $uf failed (plan $uplan)"
}

echo "== unit tier"
unit_run unit build/unit-tests

# The same tests built with AddressSanitizer and UBSan (every finding is
# fatal, leaks included), and the libFuzzer target of the virtqueue chain
# validator for a bounded time.
echo "== unit tier under AddressSanitizer and UBSan"
if make -s asan-unit >"$log/asan-build" 2>&1; then
	unit_run unit-asan build/asan/unit-tests
else
	cat "$log/asan-build"
	echo "FAIL: unit-asan: build"
	fail=$((fail + 1))
fi
echo "== fuzz: virtqueue chain validator, libnv lists, virtio-blk/net/console requests, PCI device registers (libFuzzer, ${FUZZ_SECONDS:-20} s + 10 s + 20 s + 20 s)"
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >"$log/fuzz" 2>&1; then
	tail -3 "$log/fuzz"
	echo "PASS: fuzz/vq-chain-validator+nvlist+device-requests+pci-registers"
	pass=$((pass + 1))
else
	tail -40 "$log/fuzz"
	echo "FAIL: fuzz/vq-chain-validator+nvlist+device-requests+pci-registers: libFuzzer found a problem or did not build (an input it found is kept as build/fuzz-*crash-*)"
	fail=$((fail + 1))
fi

# check_plan FILE NAME: a group's PLAN (first "PLAN: N" line) against the
# PASS:/FAIL: lines it printed; adds them to the totals, plus one failure
# when it ran fewer (or more) checks than planned, or none.
check_plan() {
	local p f want
	p=$(grep -c '^PASS: ' "$1")
	f=$(grep -c '^FAIL: ' "$1")
	want=$(sed -n 's/^PLAN: \([0-9][0-9]*\)$/\1/p' "$1" | head -n1)
	if [ -z "$want" ]; then
		echo "FAIL: $2: no PLAN line" | tee -a "$1"
		f=$((f + 1))
	elif [ $((p + f)) = 0 ] || [ $((p + f)) != "$want" ]; then
		echo "FAIL: $2: reported $((p + f)) checks of its plan of $want" | tee -a "$1"
		f=$((f + 1))
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	echo "== $2: $p passed, $f failed (plan ${want:-none})"
}

# A /dev/kvm that answers KVM_GET_API_VERSION (12).
kvm_usable() {
	python3 -c 'import fcntl, os, sys
fd = os.open("/dev/kvm", os.O_RDWR)
sys.exit(0 if fcntl.ioctl(fd, 0xAE00) == 12 else 1)' 2>/dev/null
}

# Tiers whose prerequisite is a /dev/kvm: the command-line checks (several
# reach the VM-building stage) and the kvm tier's tiny guests.  Without a
# usable /dev/kvm here they run inside the nested test host, as e2e groups
# "cli" and "kvm" (the kvm group always runs there: run.sh --nested needs
# real hardware-virtualization semantics).
have_kvm=0
kvm_usable && have_kvm=1
if [ $have_kvm = 1 ]; then
	echo "== unit tier: command-line errors (the binary, no guest)"
	tests/cli/run.sh 2>&1 | tee "$log/cli"
	check_plan "$log/cli" cli
	echo "== kvm tier"
	tests/kvm/run.sh 2>&1 | tee "$log/kvm"
	check_plan "$log/kvm" kvm
else
	echo "************************************************************************"
	echo "** THIS MACHINE HAS NO USABLE /dev/kvm: the command-line tier and the"
	echo "** kvm tier run INSIDE THE NESTED TEST HOST instead, as the e2e groups"
	echo "** 'cli' (tests/cli/run.sh) and 'kvm' (tests/kvm/run.sh and --nested)."
	echo "************************************************************************"
fi

# The e2e tier: each group in its own boot of the nested test host, so a
# crash of the test host (status 126: its kernel panicked, it reset by
# itself (a triple fault: QEMU exits 0 under -no-reboot) or it wedged;
# TCG's emulation of nested SVM is not perfect, and no test can cause
# that) reruns only that group, at most three attempts.  Groups: "kvm"
# (the kvm tier's tiny guests) and every tests/e2e/group-*.py.  Each
# group's run dir (console logs, bhyve state dumps) is kept when the group
# fails, and its path printed.
echo "== e2e tier (nested test host, one boot per group)"
e2e_root=$(mktemp -d "${TMPDIR:-/tmp}/bhyve-e2e.XXXXXX")
crashes=0
# One run of a group: tests/e2e/run-group.sh ARG in a test host; a
# crashed or wedged test host is retried (status 126), at most three
# attempts.  Sets rc and rd (the run dir) and leaves the output in $out.
run_group_boot() { # NAME ARG TAG
	local name=$1 arg=$2 tag=$3 attempt
	for attempt in 1 2 3; do
		rd="$e2e_root/$name.$tag$attempt"
		rc=0
		BHYVE_TESTHOST_RUNDIR=$rd tests/e2e/testhost.sh run tests/e2e/run-group.sh "$arg" 2>&1 |
			tee "$out"
		rc=${PIPESTATUS[0]}
		[ "$rc" = 126 ] || break
		crashes=$((crashes + 1))
		mv "$out" "$out.crashed.$tag$attempt"
		echo "e2e/$name: the test host itself crashed or wedged; partial results discarded (run dir $rd); attempt $((attempt + 1)) of 3" |
			tee -a "$log/crashes"
	done
	if [ "$rc" = 124 ]; then
		echo "FAIL: e2e/$name: the group did not finish within the test host's timeout (status 124)" | tee -a "$out"
	elif [ "$rc" = 125 ] || [ "$rc" = 126 ]; then
		echo "FAIL: e2e/$name: the test host stopped before the group finished (status $rc)" | tee -a "$out"
	elif [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$out"; then
		echo "FAIL: e2e/$name: the group exited with status $rc" | tee -a "$out"
	fi
}

# A group that fails runs again, in a fresh test host, at most three runs
# in all, and its last run counts; the earlier runs' failures stay on the
# output above and their run dirs (console logs, bhyve's state dumps) are
# kept.  Why: guests of the stock kernel intermittently stop early in
# their boot (a vCPU stays in KVM_RUN without exits; seen in several
# groups' boots in this test host, cause not found yet: README, Tests).
# A deterministic failure fails every run.  A test host that could not
# run the group at all (status 125: it failed to start, or ended without a
# status for no known reason) is not run again.  Inside a group, a single boot
# lost before its marker is booted again first (tests/e2e/vmlib.py,
# boot_until: a "LOST-BOOT" line each); the run dir of a group that lost a
# boot is kept as well.
run_group() { # NAME ARG
	local name=$1 arg=$2 out="$log/e2e-$1" rc rd
	local run
	run_group_boot "$name" "$arg" ""
	for run in 2 3; do
		grep -q '^FAIL: ' "$out" && [ "$rc" != 125 ] || break
		reruns=$((reruns + 1))
		keep_e2e=1
		mv "$out" "$out.run$((run - 1))"
		echo "e2e/$name: FAILED on run $((run - 1)) (run dir $rd kept); running it again in a fresh test host (run $run of at most 3)" |
			tee -a "$log/reruns"
		run_group_boot "$name" "$arg" "run$run."
	done
	check_plan "$out" "e2e/$name"
	if grep -q '^FAIL: ' "$out"; then
		echo "e2e/$name failed: console logs and bhyve state dumps kept in $rd"
		keep_e2e=1
	elif grep -q '(LOST-BOOT ' "$out"; then
		keep_e2e=1
	else
		rm -rf "$rd"
	fi
}
reruns=0
keep_e2e=0
if tests/e2e/testhost.sh prepare >"$log/prepare" 2>&1; then
	[ $have_kvm = 1 ] || run_group cli cli
	run_group kvm kvm
	for g in tests/e2e/group-*.py; do
		[ -f "$g" ] || continue
		n=${g##*/group-}
		run_group "${n%.py}" "${g##*/}"
	done
	echo "== e2e: $crashes test-host crash(es) retried, $reruns group rerun(s) after a failure, $(cat "$log"/e2e-* | grep -c '(LOST-BOOT ') boot(s) lost and booted again"
	[ -f "$log/reruns" ] && cat "$log/reruns"
	cat "$log"/e2e-* | grep '(LOST-BOOT '
else
	tail -30 "$log/prepare"
	echo "FAIL: e2e: cannot prepare the nested test host"
	fail=$((fail + 1))
fi
if [ "$keep_e2e" = 1 ] || [ "$crashes" != 0 ] || [ "$reruns" != 0 ]; then
	echo "== e2e run dirs kept in $e2e_root"
else
	rm -rf "$e2e_root"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

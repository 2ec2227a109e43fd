#!/bin/bash
# The whole test suite: unit, kvm and e2e tiers.  Installs what it needs,
# builds, runs every tier and ends with "N passed, N failed".
# A tier that cannot run counts as failed, loudly.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0

count_lines() {	# file: adds PASS:/FAIL: lines to the totals
	local p f
	p=$(grep -c '^PASS: ' "$1")
	f=$(grep -c '^FAIL: ' "$1")
	pass=$((pass + p))
	fail=$((fail + f))
	echo "== $2: $p passed, $f failed"
}

echo "== dependencies"
tests/deps.sh || { echo "FAIL: setup: cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }
echo "== build"
if ! make -s all build/unit-tests guests >"$log/build" 2>&1; then
	cat "$log/build"
	echo "FAIL: build"
	echo "0 passed, 1 failed"
	exit 1
fi

echo "== unit tier"
build/unit-tests >"$log/unit" 2>&1
urc=$?
cat "$log/unit"
up=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$log/unit")
uf=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$log/unit")
up=${up:-0} uf=${uf:-0}
if [ "$up" = 0 ] || { [ "$urc" != 0 ] && [ "$uf" = 0 ]; }; then
	echo "FAIL: unit tier did not run properly (status $urc)"
	uf=$((uf + 1))
fi
pass=$((pass + up)) fail=$((fail + uf))
echo "== unit: $up passed, $uf failed"

echo "== unit tier: command-line errors (the binary, no guest)"
tests/cli/run.sh 2>&1 | tee "$log/cli"
count_lines "$log/cli" cli

echo "== kvm tier"
tests/kvm/run.sh 2>&1 | tee "$log/kvm"
count_lines "$log/kvm" kvm

echo "== e2e tier (nested test host)"
run_e2e() {
	tests/e2e/testhost.sh run tests/e2e/guest-tests.sh 2>&1 | tee "$log/e2e"
	return "${PIPESTATUS[0]}"
}
if tests/e2e/testhost.sh prepare >"$log/prepare" 2>&1; then
	rc=0
	run_e2e || rc=$?
	for attempt in 2 3; do
		[ "$rc" = 126 ] || break
		# The emulated host itself died (its kernel panicked, or it
		# stopped making progress): TCG's emulation of nested SVM is
		# not perfect, and this is not a result of any test (a user
		# process cannot wedge a kernel).  Its partial results are set
		# aside and the tier runs again, at most three times in all.
		mv "$log/e2e" "$log/e2e.crashed.$attempt"
		echo "e2e: the test host itself crashed or wedged; its partial results are discarded (kept in $log/e2e.crashed.$attempt) and the e2e tier runs again (attempt $attempt of 3)"
		rc=0
		run_e2e || rc=$?
	done
	if [ "$rc" = 125 ] || [ "$rc" = 126 ]; then
		echo "FAIL: e2e: the test host stopped before the e2e tier finished (status $rc)" | tee -a "$log/e2e"
	elif ! grep -q '^PASS: e2e/' "$log/e2e"; then
		echo "FAIL: e2e: the test host produced no e2e results" | tee -a "$log/e2e"
	fi
else
	tail -30 "$log/prepare"
	echo "FAIL: e2e: cannot prepare the nested test host" | tee "$log/e2e"
fi
count_lines "$log/e2e" e2e

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

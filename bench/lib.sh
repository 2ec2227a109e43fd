# shellcheck shell=bash
# What the benchmark scripts share (sourced).  A benchmark script runs
# twice: on the development machine, where it prepares a run dir and starts
# the nested test host (tests/e2e/testhost.sh) with itself as the script,
# and in the test host (BHYVE_TESTHOST set), where it does the work.  The
# test host gets no environment of ours: what it needs goes into
# bench.env in the run dir.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_logdir NAME: print the run dir, BENCH_LOGDIR or a fresh
# /tmp/bhyve-bench-NAME.*, created.
bench_logdir() {
	local d=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/bhyve-bench-$1.XXXXXX")}
	mkdir -p "$d"
	printf '%s\n' "$d"
}

# bench_env DIR NAME...: the named variables' values into DIR/bench.env,
# one NAME=value line each (shell-quoted; unset ones empty).
bench_env() {
	local dir=$1 n
	shift
	for n in "$@"; do
		printf '%s=%q\n' "$n" "${!n-}"
	done >"$dir/bench.env"
}

# bench_in_testhost DIR TIMEOUT SCRIPT [ARG...]: run SCRIPT in the test
# host with DIR as its run dir, for at most TIMEOUT seconds (unless
# BHYVE_TESTHOST_TIMEOUT says otherwise).  Does not return.
bench_in_testhost() {
	local dir=$1 timeout=$2
	shift 2
	BHYVE_TESTHOST_RUNDIR=$dir \
		BHYVE_TESTHOST_TIMEOUT=${BHYVE_TESTHOST_TIMEOUT:-$timeout} \
		exec "$bench_root/tests/e2e/testhost.sh" run "$@"
}

# bench_load: in the test host, the test environment (KERNEL, VMLINUX,
# GUEST_INITRD, ...) and every variable of bench.env, exported.
bench_load() {
	# shellcheck disable=SC1090
	. "$BHYVE_TEST_ENV"
	export KERNEL VMLINUX GUEST_INITRD
	set -a
	# shellcheck disable=SC1091
	. "$BHYVE_TEST_RUNDIR/bench.env"
	set +a
}

# cprobe_run NAME REPS: compile bench/NAME.c into the run dir, write
# BENCH_REPS (the caller's, else REPS) and run bench/NAME.sh in the test
# host, where it finds the program as $BHYVE_TEST_RUNDIR/NAME.  Does not
# return.
cprobe_run() {
	local name=$1 logdir
	logdir=$(bench_logdir "$name")
	cc -O2 -Wall -o "$logdir/$name" "$bench_root/bench/$name.c"
	BENCH_REPS=${BENCH_REPS:-$2}
	bench_env "$logdir" BENCH_REPS
	bench_in_testhost "$logdir" 1800 "$bench_root/bench/$name.sh"
}

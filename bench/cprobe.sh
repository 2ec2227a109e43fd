# shellcheck shell=bash
# Sourced by the scripts that run one small C program of bench/ in the
# nested test host (bench/copyfloor.sh, bench/cpuprobe.sh).
#
# cprobe_run NAME REPS: on the development machine, compile bench/NAME.c
# into the run dir (BENCH_LOGDIR, default a fresh
# /tmp/bhyve-bench-NAME.*), write BENCH_REPS there (the caller's, else
# REPS) and run bench/NAME.sh in the test host, where it finds the program
# as $BHYVE_TEST_RUNDIR/NAME.  Does not return.
cprobe_run() {
	local name=$1 reps=$2 here root logdir
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	root=$(cd "$here/.." && pwd)
	logdir=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/bhyve-bench-$name.XXXXXX")}
	mkdir -p "$logdir"
	cc -O2 -Wall -o "$logdir/$name" "$here/$name.c"
	printf 'BENCH_REPS=%q\n' "${BENCH_REPS:-$reps}" >"$logdir/bench.env"
	BHYVE_TESTHOST_RUNDIR=$logdir exec "$root/tests/e2e/testhost.sh" run "$here/$name.sh"
}

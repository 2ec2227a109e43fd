#!/bin/bash
# The copy floor under bench/blk.sh's sequential 1 MiB jobs: how long one
# CPU of the nested test host takes to copy 1 MiB between a tmpfs file and
# anonymous memory, by the kernel (pread/pwrite, what both VMMs' I/O
# threads do) and through a mapping of the file (glibc's memcpy, on first
# touch and with the mapping's pages already mapped, a plain `rep movsb`
# and an unrolled loop of 8-byte moves).  Runs bench/copyfloor.c three times on the test host's CPU 0,
# where bench/blk.sh pins both VMMs' I/O.
#
#   bench/copyfloor.sh    run on the development/CI machine
#
# Environment: BENCH_LOGDIR (the compiled program and the test host's run
# dir; default a fresh /tmp/bhyve-bench-copyfloor.*), BENCH_REPS (MiB per
# method and pass, default 256).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -n "${BHYVE_TESTHOST:-}" ]; then
	# shellcheck disable=SC1091
	. "$BHYVE_TEST_RUNDIR/bench.env"
	echo "1 MiB copies on the test host's CPU 0, tmpfs file <-> anonymous memory, $BENCH_REPS MiB per method; $(date -u +%Y-%m-%dT%H:%MZ)"
	for pass in 1 2 3; do
		echo "pass $pass:"
		taskset -c 0 "$BHYVE_TEST_RUNDIR/copyfloor" /tmp/copyfloor.img "$BENCH_REPS"
	done
	exit 0
fi

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
cprobe_run copyfloor 256

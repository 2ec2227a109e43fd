#!/bin/bash
# Two facts of the nested test host that bear on every benchmark here
# (bench/RESULTS.md, "the queue watch's clock reads"): what a clock read,
# RDTSC and PAUSE cost on its CPU 0 (its clocksource is the HPET, so
# clock_gettime() is a system call and a device read), and how much a
# busy CPU 0, where the benchmarks pin the VMMs' I/O, slows a loop on
# CPU 1, where they pin the guest's vCPU.  Runs bench/cpuprobe.c.
#
#   bench/cpuprobe.sh    run on the development/CI machine
#
# Environment: BENCH_LOGDIR (the compiled program and the test host's run
# dir; default a fresh /tmp/bhyve-bench-cpuprobe.*), BENCH_REPS (repeats of
# the load comparison, default 2).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -n "${BHYVE_TESTHOST:-}" ]; then
	# shellcheck disable=SC1091
	. "$BHYVE_TEST_RUNDIR/bench.env"
	p=$BHYVE_TEST_RUNDIR/cpuprobe
	echo "test host clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); $(date -u +%Y-%m-%dT%H:%MZ)"
	taskset -c 0 "$p" costs
	for rep in $(seq "$BENCH_REPS"); do
		echo "repeat $rep, CPU 1 for 2 s each:"
		echo "-- CPU 0 idle"
		taskset -c 1 "$p" load 2
		for how in clock pause; do
			echo "-- CPU 0 spinning ($how)"
			taskset -c 0 "$p" spin "$how" 5 &
			taskset -c 1 "$p" load 2
			wait
		done
	done
	exit 0
fi

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
cprobe_run cpuprobe 2

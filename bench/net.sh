#!/bin/bash
# Network throughput benchmark: TCP bulk transfers guest->host and
# host->guest over a tap, our bhyve (virtio-net) against QEMU 7.2 (bookworm's,
# unpacked by bench/qemu72.sh; virtio-net-pci on a tap, vhost=off), in ONE run of the nested test host
# (tests/e2e/testhost.sh); the work is done by bench/net.py.
#
#   bench/net.sh                  run on the development/CI machine
#
# Environment: BENCH_MB (MiB per transfer, default 192), BENCH_REPS (transfers
# each way per boot, default 2), BENCH_ROUNDS (alternating rounds, one boot
# of each VMM per round, default 2), BENCH_VMMS (default "bhyve qemu";
# "bhyve-b" is a second build given as BHYVE_B, for before/after
# comparisons), BHYVE (default build/bhyve of this checkout), BENCH_PIN
# (default 1: each guest's vCPU thread on CPU 1, everything else on CPU 0;
# 0 leaves placement to the scheduler), BENCH_WARMUP (default 1: an
# uncounted boot of each VMM first; see net.py), BENCH_LOGDIR (console logs
# and results.txt; default a fresh /tmp/bhyve-bench-net.*), BENCH_GUEST_SETUP
# (a shell command each guest runs once its network is up, for experiments
# such as a TCP setting; default none).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=$(bench_logdir net)
	echo "bench: logs in $logdir"
	BENCH_PIN=${BENCH_PIN:-1} BHYVE=${BHYVE:-$root/build/bhyve}
	BENCH_MB=${BENCH_MB:-192} BENCH_REPS=${BENCH_REPS:-2}
	BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_VMMS=${BENCH_VMMS:-bhyve qemu}
	# shellcheck disable=SC2034  # bench_env reads it
	BENCH_WARMUP=${BENCH_WARMUP:-1} BENCH_QEMU=$("$here/qemu72.sh")
	bench_env "$logdir" BENCH_PIN BHYVE BHYVE_B BENCH_MB BENCH_REPS \
		BENCH_ROUNDS BENCH_VMMS BENCH_QEMU BENCH_WARMUP BENCH_GUEST_SETUP
	bench_in_testhost "$logdir" 2400 "$here/net.sh" "$@"
fi
bench_load
exec python3 "$here/net.py"

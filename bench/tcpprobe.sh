#!/bin/bash
# TCP probe: what TCP does in each direction over a tap, under our bhyve and
# QEMU 7.2 (the same guests and tap as bench/net.sh), in ONE run of the
# nested test host; the work is done by bench/tcpprobe.py.  Not a benchmark
# (one boot per VMM, no rounds): it shows why a throughput figure is what
# it is.
#
#   bench/tcpprobe.sh             run on the development/CI machine
#
# Environment: PROBE_VMMS (default "bhyve qemu"; NAME=PATH runs a bhyve
# build at PATH under NAME), BHYVE (default build/bhyve of this checkout),
# BENCH_MB (MiB per transfer, default 192), BENCH_REPS (transfers per boot,
# default 3), BENCH_PIN (default 1, as bench/net.sh), BENCH_LOGDIR.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=$(bench_logdir tcpprobe)
	echo "probe: logs in $logdir"
	BENCH_PIN=${BENCH_PIN:-1} BHYVE=${BHYVE:-$root/build/bhyve}
	BENCH_MB=${BENCH_MB:-192} BENCH_REPS=${BENCH_REPS:-3}
	# shellcheck disable=SC2034  # bench_env reads it
	PROBE_VMMS=${PROBE_VMMS:-bhyve qemu} BENCH_QEMU=$("$here/qemu72.sh")
	bench_env "$logdir" BENCH_PIN BHYVE BENCH_MB BENCH_REPS PROBE_VMMS \
		BENCH_QEMU
	bench_in_testhost "$logdir" 1800 "$here/tcpprobe.sh" "$@"
fi
bench_load
exec python3 "$here/tcpprobe.py"

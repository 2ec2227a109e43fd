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

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/bhyve-tcpprobe.XXXXXX")}
	mkdir -p "$logdir"
	echo "probe: logs in $logdir"
	qemu=$("$here/qemu72.sh")
	printf 'BENCH_PIN=%q\nBHYVE=%q\nBENCH_MB=%q\nBENCH_REPS=%q\nPROBE_VMMS=%q\nBENCH_QEMU=%q\n' \
		"${BENCH_PIN:-1}" "${BHYVE:-$root/build/bhyve}" "${BENCH_MB:-192}" "${BENCH_REPS:-3}" \
		"${PROBE_VMMS:-bhyve qemu}" "$qemu" >"$logdir/bench.env"
	BHYVE_TESTHOST_RUNDIR=$logdir BHYVE_TESTHOST_TIMEOUT=${BHYVE_TESTHOST_TIMEOUT:-1800} \
		exec "$root/tests/e2e/testhost.sh" run "$here/tcpprobe.sh" "$@"
fi
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
# shellcheck disable=SC1091
. "$BHYVE_TEST_RUNDIR/bench.env"
export KERNEL VMLINUX GUEST_INITRD BENCH_PIN BHYVE BENCH_MB BENCH_REPS PROBE_VMMS BENCH_QEMU
exec python3 "$here/tcpprobe.py"

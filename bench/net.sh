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

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/bhyve-bench-net.XXXXXX")}
	mkdir -p "$logdir"
	echo "bench: logs in $logdir"
	# The test host gets no environment of ours: what it needs goes in a file.
	qemu=$("$here/qemu72.sh")
	printf 'BENCH_PIN=%q\nBHYVE=%q\nBHYVE_B=%q\nBENCH_MB=%q\nBENCH_REPS=%q\nBENCH_ROUNDS=%q\nBENCH_VMMS=%q\nBENCH_QEMU=%q\nBENCH_WARMUP=%q\nBENCH_GUEST_SETUP=%q\n' \
		"${BENCH_PIN:-1}" "${BHYVE:-$root/build/bhyve}" "${BHYVE_B:-}" "${BENCH_MB:-192}" "${BENCH_REPS:-2}" \
		"${BENCH_ROUNDS:-2}" "${BENCH_VMMS:-bhyve qemu}" "$qemu" "${BENCH_WARMUP:-1}" "${BENCH_GUEST_SETUP:-}" >"$logdir/bench.env"
	BHYVE_TESTHOST_RUNDIR=$logdir BHYVE_TESTHOST_TIMEOUT=${BHYVE_TESTHOST_TIMEOUT:-2400} \
		exec "$root/tests/e2e/testhost.sh" run "$here/net.sh" "$@"
fi
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
# shellcheck disable=SC1091
. "$BHYVE_TEST_RUNDIR/bench.env"
export KERNEL VMLINUX GUEST_INITRD BENCH_PIN BHYVE BHYVE_B BENCH_MB BENCH_REPS BENCH_ROUNDS BENCH_VMMS BENCH_QEMU BENCH_WARMUP BENCH_GUEST_SETUP
exec python3 "$here/net.py"

#!/bin/bash
# The VMM's own memory with every virtio device at work: bhyve with
# virtio-blk, virtio-rnd, virtio-net (slirp) and virtio-console against QEMU
# 7.2 (bookworm's, unpacked by bench/qemu72.sh) with the same devices, in
# ONE run of the nested test host (tests/e2e/testhost.sh); the work is done
# by bench/mem.py.
#
#   bench/mem.sh                  run on the development/CI machine
#
# Environment: BENCH_VMMS (default "bhyve qemu"), BHYVE (default build/bhyve
# of this checkout), BENCH_LOGDIR (console logs and results.txt; default a
# fresh /tmp/bhyve-bench-mem.*).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/bhyve-bench-mem.XXXXXX")}
	mkdir -p "$logdir"
	echo "bench: logs in $logdir"
	qemu=$("$here/qemu72.sh")
	printf 'BHYVE=%s\nBENCH_VMMS=%q\nBENCH_QEMU=%q\n' "${BHYVE:-$root/build/bhyve}" \
		"${BENCH_VMMS:-bhyve qemu}" "$qemu" >"$logdir/bench.env"
	BHYVE_TESTHOST_RUNDIR=$logdir BHYVE_TESTHOST_TIMEOUT=${BHYVE_TESTHOST_TIMEOUT:-1800} \
		exec "$root/tests/e2e/testhost.sh" run "$here/mem.sh" "$@"
fi
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
# shellcheck disable=SC1091
. "$BHYVE_TEST_RUNDIR/bench.env"
export KERNEL VMLINUX GUEST_INITRD BHYVE BENCH_VMMS BENCH_QEMU
exec python3 "$here/mem.py"

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

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=$(bench_logdir mem)
	echo "bench: logs in $logdir"
	BHYVE=${BHYVE:-$root/build/bhyve} BENCH_VMMS=${BENCH_VMMS:-bhyve qemu}
	# shellcheck disable=SC2034  # bench_env reads it
	BENCH_QEMU=$("$here/qemu72.sh")
	bench_env "$logdir" BHYVE BENCH_VMMS BENCH_QEMU
	bench_in_testhost "$logdir" 1800 "$here/mem.sh" "$@"
fi
bench_load
exec python3 "$here/mem.py"

#!/bin/bash
# virtio-blk benchmark: fio in the guest (sequential 1 MiB read and write at
# queue depth 8, 4 KiB random reads at queue depth 1 and 32, O_DIRECT,
# libaio, 10 s each) against the same 256 MiB image on the test host's tmpfs,
# under our bhyve (-s 4,virtio-blk) and QEMU 7.2 (bookworm's, unpacked by
# bench/qemu72.sh; -device virtio-blk-pci, its default cache=writeback,
# aio=threads), in ONE run of the nested test host.
#
#   bench/blk.sh          run on the development/CI machine
#
# fio is Debian's (installed here when missing); it and the libraries it
# loads are appended as an uncompressed cpio to a copy of the cached guest
# initramfs (the kernel unpacks concatenated archives), so the shared test
# cache is untouched.  Environment: BHYVE (default build/bhyve),
# BENCH_LOGDIR (console logs and results.txt; default a fresh
# /tmp/bhyve-bench-blk.*), BENCH_RUNTIME (seconds per job, default 10),
# BENCH_ROUNDS (alternating rounds of the VMMs, default 2; each figure is
# the median of its rounds), BENCH_VMMS (default "bhyve qemu"; "bhyve-b"
# is a second build given as BHYVE_B, for before/after comparisons),
# BENCH_PIN (default 1: each guest's vCPU thread on CPU 1, everything else
# on CPU 0; 0 leaves placement to the scheduler), BENCH_WARMUP (default 1:
# an uncounted boot of each VMM first; see blk.py), BENCH_JOBS (job names
# to run, default all four).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

if [ -n "${BHYVE_TESTHOST:-}" ]; then
	bench_load
	export BENCH_INITRD=$BHYVE_TEST_RUNDIR/initrd-fio
	exec python3 "$here/blk.py"
fi

logdir=$(bench_logdir blk)
if ! command -v fio >/dev/null; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y fio >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y fio >&2; }
fi
env_file=$("$root/tests/e2e/testhost.sh" env)
# shellcheck disable=SC1090
. "$env_file"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/usr/bin" "$work/root/lib64"
cp /usr/bin/fio "$work/root/usr/bin/fio"
cp -L /lib64/ld-linux-x86-64.so.2 "$work/root/lib64/"
for lib in $(ldd /usr/bin/fio | awk '/=> \// { print $3 }'); do
	mkdir -p "$work/root$(dirname "$lib")"
	cp -L "$lib" "$work/root$lib"
done
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/fio.cpio"
# gzip'd guest initramfs, zero padding to a 512-byte boundary, then the
# uncompressed archive
cp "$GUEST_INITRD" "$logdir/initrd-fio"
size=$(stat -c %s "$logdir/initrd-fio")
pad=$(( (512 - size % 512) % 512 ))
head -c "$pad" /dev/zero >>"$logdir/initrd-fio"
cat "$work/fio.cpio" >>"$logdir/initrd-fio"
echo "bench: logs in $logdir; guest initramfs with fio: $(stat -c %s "$logdir/initrd-fio") bytes"
BENCH_PIN=${BENCH_PIN:-1} BENCH_RUNTIME=${BENCH_RUNTIME:-10}
BHYVE=${BHYVE:-$root/build/bhyve} BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_VMMS=${BENCH_VMMS:-bhyve qemu} BENCH_WARMUP=${BENCH_WARMUP:-1}
# shellcheck disable=SC2034  # bench_env reads it
BENCH_QEMU=$("$here/qemu72.sh")
bench_env "$logdir" BENCH_PIN BENCH_RUNTIME BHYVE BHYVE_B BENCH_ROUNDS \
	BENCH_VMMS BENCH_QEMU BENCH_WARMUP BENCH_JOBS
rm -rf "$work"
bench_in_testhost "$logdir" 2400 "$here/blk.sh"

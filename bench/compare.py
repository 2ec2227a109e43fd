"""The QEMU the benchmarks compare against: $BENCH_QEMU, which the
benchmarks' host-side scripts set to Debian bookworm's QEMU 7.2 unpacked
by bench/qemu72.sh (qemu-system-x86_64 from $PATH when it is unset)."""

import os
import subprocess

QEMU = os.environ.get("BENCH_QEMU") or "qemu-system-x86_64"


def qemu_version():
    """The first line of `$QEMU --version`, for the results."""
    r = subprocess.run([QEMU, "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    lines = r.stdout.splitlines()
    return lines[0] if lines else "QEMU (version unknown)"

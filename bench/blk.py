#!/usr/bin/env python3
"""Inside the nested test host (started by bench/blk.sh): the fio jobs under
bhyve and QEMU on the same image; prints a table and the ratios, and writes
it to $BHYVE_TEST_RUNDIR/results.txt.  Unless BENCH_PIN=0, each guest's
vCPU thread runs on the test host's CPU 1 and everything else on CPU 0.

Order: unless BENCH_WARMUP=0, one uncounted boot of each VMM runs every job
for 3 s first (a fresh test host runs slower at first, and whoever went
first paid for it); then the counted rounds alternate the VMMs, the order
reversed every other round (bhyve qemu, qemu bhyve, ...) so that a drift
of the test host's speed within a run favours neither."""

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests", "e2e"))
os.environ.setdefault("GUEST_INITRD", os.environ["BENCH_INITRD"])
from vmlib import Console, wait_exit  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import QEMU, qemu_version  # noqa: E402
from vmmmem import (PIN, WARMUP, Sampler, confine, cpu_ticks,  # noqa: E402
                     cpu_us, kvm_counts, per_unit, pin_vcpus, rounds)

KERNEL = os.environ["KERNEL"]
INITRD = os.environ["BENCH_INITRD"]
BHYVE = os.environ["BHYVE"]
BHYVE_B = os.environ.get("BHYVE_B", "")   # a second build to compare, "bhyve-b"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
ORDER = os.environ.get("BENCH_VMMS", "bhyve qemu").split()
RUNTIME = int(os.environ.get("BENCH_RUNTIME", "10"))
LOGDIR = os.environ.get("BHYVE_TEST_RUNDIR", "/tmp")
IMG = "/tmp/bench.img"
SIZE_MB = 256
CMDLINE = "console=ttyS0 bhyvetest=script bhyvemods=virtio_pci,virtio_blk"
JOBS = [
    ("seq-read-1M-qd8", "--rw=read --bs=1M --iodepth=8", "read", "MiB/s"),
    ("seq-write-1M-qd8", "--rw=write --bs=1M --iodepth=8", "write", "MiB/s"),
    ("rand-read-4K-qd1", "--rw=randread --bs=4k --iodepth=1", "read", "IOPS"),
    ("rand-read-4K-qd32", "--rw=randread --bs=4k --iodepth=32", "read",
     "IOPS"),
]
if os.environ.get("BENCH_JOBS"):    # a subset, by name
    JOBS = [j for j in JOBS if j[0] in os.environ["BENCH_JOBS"].split()]
FIO = ("fio --name=j --filename=/dev/vda --direct=1 --ioengine=libaio "
       "--size=%dM --time_based --runtime=%%d --thread --minimal " % SIZE_MB)

VMMS = {
    "bhyve": [BHYVE, "-H", "-P", "-c", "1", "-m", "1G", "-s", "0,hostbridge",
              "-s", "4,virtio-blk," + IMG, "-s", "31,lpc", "-l", "com1,stdio",
              "-o", "boot.kernel=" + KERNEL, "-o", "boot.initrd=" + INITRD,
              "-o", "boot.cmdline=" + CMDLINE, "benchvm"],
    "bhyve-b": [BHYVE_B, "-H", "-P", "-c", "1", "-m", "1G", "-s",
                "0,hostbridge", "-s", "4,virtio-blk," + IMG, "-s", "31,lpc",
                "-l", "com1,stdio", "-o", "boot.kernel=" + KERNEL,
                "-o", "boot.initrd=" + INITRD, "-o", "boot.cmdline=" + CMDLINE,
                "benchvm"],
    # (debug-threads names the vCPU thread "CPU 0/KVM", for cpu_ticks.)
    "qemu": [QEMU, "-enable-kvm", "-cpu", "host", "-m", "1G",
             "-smp", "1", "-name", "benchvm,debug-threads=on", "-nographic",
             "-no-reboot", "-kernel", KERNEL,
             "-initrd", INITRD, "-append", CMDLINE,
             "-drive", "file=%s,if=none,id=d0,format=raw" % IMG,
             "-device", "virtio-blk-pci,drive=d0"],
}


def run_vmm(name, rnd, runtime=RUNTIME):
    """{job: value} for one VMM; "mem": its own peak memory in KiB."""
    res = {}
    proc = subprocess.Popen(VMMS[name], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    mem = Sampler(proc.pid, 1024)
    con = Console(proc.stdout.fileno(), "bench-%s-%s.log" % (name, rnd))
    t0 = time.time()
    if con.expect(rb"BHYVE-GUEST-SCRIPT\r?\n", 600) is None:
        print("%s: guest did not come up" % name, flush=True)
        proc.kill()
        proc.wait()
        return res
    print("%s: guest up after %.1f s" % (name, time.time() - t0), flush=True)
    pin_vcpus(proc.pid)
    for job, args, kind, unit in JOBS:
        cpu0 = cpu_ticks(proc.pid)
        k0 = kvm_counts()
        proc.stdin.write(("echo @@B; %s %s 2>&1; echo @@E\n"
                          % (FIO % runtime, args)).encode())
        proc.stdin.flush()
        m = con.expect(rb"(?s)@@B\r?\n(.*?)@@E", runtime + 120)
        k1 = kvm_counts()
        line = ""
        if m:
            for ln in m.group(1).decode(errors="replace").splitlines():
                if ln.startswith("3;"):
                    line = ln
        f = line.split(";")
        if len(f) < 50:
            print("%s %s: no fio result: %s" % (name, job, m.group(1)[-300:]
                                                if m else "timeout"),
                  flush=True)
            continue
        bw, iops = (f[6], f[7]) if kind == "read" else (f[47], f[48])
        v = float(bw) / 1024 if unit == "MiB/s" else float(iops)
        res[job] = v
        # The VMM's own CPU time per request (its threads but the vCPUs'):
        # the host work the VMM adds to the guest's.
        us = cpu_us(cpu0, cpu_ticks(proc.pid))
        nreq = float(iops) * runtime
        if us is not None and nreq > 0:
            res[job + "/cpu"] = us / nreq
        # The guest's exits per request (fio's start and end count too).
        ex = per_unit(k0, k1, nreq)
        if ex is not None:
            res[job + "/exits"], res[job + "/emul"] = ex
        print("%s %-18s %10.1f %s" % (name, job, v, unit), flush=True)
    res["mem"] = mem.stop()
    proc.stdin.write(b"exit\n")
    proc.stdin.flush()
    wait_exit(proc, 120)
    return res


def main():
    with open(IMG, "wb") as f:
        chunk = bytes(range(256)) * 4096
        for _ in range(SIZE_MB):
            f.write(chunk)
    confine()
    # Each figure is the median of its rounds.
    runs = {v: [] for v in ORDER}
    for rnd, v in rounds(ORDER, ROUNDS, lambda v: run_vmm(v, "warm", 3)):
        runs[v].append(run_vmm(v, rnd))
    out = {}
    for v in ORDER:
        out[v] = {}
        for job in [j[0] + x for j in JOBS
                    for x in ("", "/cpu", "/exits", "/emul")] + ["mem"]:
            vals = [r[job] for r in runs[v] if job in r]
            if vals:
                out[v][job] = (max(vals) if job == "mem"
                               else statistics.median(vals))
                out[v][job + "/all"] = vals
    others = [v for v in ORDER if v != "qemu"]
    lines = ["virtio-blk, %d MiB image on the test host's tmpfs; fio %ds per "
             "job, O_DIRECT, libaio; median of %d alternating rounds%s; %s%s"
             % (SIZE_MB, RUNTIME, ROUNDS,
                " after a warm-up" if WARMUP else "",
                time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
                "; vCPU pinned to CPU 1, all else to CPU 0" if PIN else ""),
             "qemu: " + qemu_version(),
             "%-18s" % "job" + "".join("%12s" % v for v in ORDER) +
             "".join("%10s" % ("%s/q" % v.replace("bhyve", "b"))
                     for v in others if "qemu" in ORDER)]
    for job, _, _, unit in JOBS:
        row = "%-18s" % job
        for v in ORDER:
            x = out[v].get(job)
            row += "%12s" % ("%.1f" % x if x else "n/a")
        q = out.get("qemu", {}).get(job)
        for v in others:
            if "qemu" not in ORDER:
                break
            b = out[v].get(job)
            row += "%10s" % ("%.2f" % (b / q) if b and q else "n/a")
        per_round = "; ".join("%s %s" % (v, " ".join(
            "%.0f" % x for x in out[v].get(job + "/all", [])))
            for v in ORDER)
        lines.append(row + "  (%s; rounds: %s)" % (unit, per_round))
    lines.append("VMM's own CPU time per request (live threads other than "
                 "the vCPUs'), microseconds (median): " +
                 "; ".join("%s %s" % (v, " ".join(
                     "%.0f" % out[v][j[0] + "/cpu"] if j[0] + "/cpu" in out[v]
                     else "n/a" for j in JOBS)) for v in ORDER) +
                 "  (jobs in the order above)")
    lines.append("Guest exits per request (the test host's KVM; in "
                 "parentheses the instructions it emulated), median: " +
                 "; ".join("%s %s" % (v, " ".join(
                     "%.1f (%.1f)" % (out[v][j[0] + "/exits"],
                                      out[v][j[0] + "/emul"])
                     if j[0] + "/exits" in out[v] else "n/a" for j in JOBS))
                     for v in ORDER) + "  (jobs in the order above)")
    lines.append("VMM's own memory (RSS minus guest RAM, peak during the "
                 "jobs): " + ", ".join("%s %s KiB" % (
                     v, out[v].get("mem", "n/a")) for v in ORDER))
    text = "\n".join(lines)
    print(text, flush=True)
    with open(os.path.join(LOGDIR, "results.txt"), "w") as f:
        f.write(text + "\n")
    os.unlink(IMG)


if __name__ == "__main__":
    main()

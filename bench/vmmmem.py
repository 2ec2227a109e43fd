"""The VMM's own memory and CPU time while a benchmark runs.

Memory (Sampler): its RSS minus the guest-RAM mapping(s) (mappings at
least 90% as large as the guest memory, as in bench/boot.sh), sampled from
/proc/PID/smaps every 0.2 s by a thread; the peak is kept.  Sampling can
miss a short peak.  CPU time (cpu_ticks, cpu_us): of its threads but
the vCPU threads, from /proc/PID/task.  Guest exits (kvm_counts,
per_unit): the test host's KVM counters in debugfs, which count every VM's
exits; the benchmarks run one VM at a time.  Placement (confine,
pin_vcpus): the benchmarks' default pinning, BENCH_PIN.  Order (rounds):
the warm-up and the alternating rounds, BENCH_WARMUP."""

import os
import re
import threading


def own_kib(pid, guest_mib):
    """(total RSS, RSS outside the guest RAM) in KiB, or None."""
    lim = guest_mib * 1024 * 9 // 10
    total = guest = 0
    big = False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if line.startswith("Size:"):
                    big = int(line.split()[1]) >= lim
                elif line.startswith("Rss:"):
                    kb = int(line.split()[1])
                    total += kb
                    if big:
                        guest += kb
    except (OSError, ValueError):
        return None
    return total, total - guest


class Sampler:
    def __init__(self, pid, guest_mib):
        self.pid, self.guest_mib = pid, guest_mib
        self.peak_own = self.peak_total = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            s = own_kib(self.pid, self.guest_mib)
            if s is None:
                return
            self.peak_total = max(self.peak_total, s[0])
            self.peak_own = max(self.peak_own, s[1])
            self._stop.wait(0.2)

    def stop(self):
        self._stop.set()
        self._t.join()
        return self.peak_own


TICKS = os.sysconf("SC_CLK_TCK")


VCPU_THREAD = re.compile(r"^(vcpu \d+|CPU \d+/KVM)$")


def cpu_ticks(pid):
    """{tid: utime + stime} of the VMM's own threads, in ticks: every live
    thread but the vCPU threads (bhyve's "vcpu N", QEMU's "CPU N/KVM"),
    whose time is mostly the guest's; io_uring and worker threads count.
    QEMU names its threads so only with -name ...,debug-threads=on."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            st = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        if VCPU_THREAD.match(comm):
            continue
        f = st.rsplit(")", 1)[1].split()
        out[tid] = int(f[11]) + int(f[12])
    return out


def cpu_delta(before, after):
    """Ticks the threads used in between (a thread that ended meanwhile is
    not counted: a lower bound)."""
    return sum(max(0, t - before.get(tid, 0)) for tid, t in after.items())


def cpu_us(before, after):
    """Microseconds the threads used between two cpu_ticks() samples, or
    None when either sample failed."""
    if before is None or after is None:
        return None
    return cpu_delta(before, after) * 1e6 / TICKS


KVM_STATS = "/sys/kernel/debug/kvm"


def kvm_counts():
    """(exits, emulated instructions) so far, from the KVM the VMMs run
    on (debugfs, mounted when missing), or None."""
    if not os.path.isdir(KVM_STATS):
        os.system("mountpoint -q /sys/kernel/debug || "
                  "mount -t debugfs none /sys/kernel/debug 2>/dev/null")
    try:
        return tuple(int(open(os.path.join(KVM_STATS, f)).read())
                     for f in ("exits", "insn_emulation"))
    except (OSError, ValueError):
        return None


def per_unit(before, after, units):
    """(exits, emulated instructions) per unit of work between two
    kvm_counts() samples, or None."""
    if before is None or after is None or units <= 0:
        return None
    return tuple((b - a) / units for a, b in zip(before, after))


PIN = os.environ.get("BENCH_PIN", "1") == "1"


def confine():
    """Unless BENCH_PIN=0: this process, and the VMMs it starts, on CPU 0;
    pin_vcpus then moves each guest's vCPU threads to the other CPUs."""
    if PIN:
        os.sched_setaffinity(0, {0})


def pin_vcpus(pid):
    """Unless BENCH_PIN=0: the VMM's vCPU threads on every CPU but 0, so
    that the VMM's other threads, the benchmark and the test host's
    network stack (CPU 0) do not preempt the guest."""
    if not PIN:
        return
    rest = set(range(os.cpu_count())) - {0} or {0}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            if VCPU_THREAD.match(comm):
                os.sched_setaffinity(int(tid), rest)
        except OSError:
            pass


WARMUP = os.environ.get("BENCH_WARMUP", "1") != "0"


def rounds(vmms, n, warm):
    """The order the benchmarks boot the VMMs in, as (round, vmm) pairs.
    The test host's speed drifts during a run (a fresh one runs slower at
    first, and whoever went first paid for it), so unless BENCH_WARMUP=0
    warm(vmm) first runs an uncounted boot of each, and the n counted
    rounds reverse the VMMs' order every other round, so that a drift
    favours neither."""
    if WARMUP:
        for v in vmms:
            print("bench: %s warm-up (not counted)" % v, flush=True)
            warm(v)
    for rnd in range(n):
        for v in (vmms if rnd % 2 == 0 else vmms[::-1]):
            yield rnd, v

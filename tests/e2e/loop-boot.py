#!/usr/bin/env python3
"""Boot loop (not a group; run it by hand in the test host) that hunts the
intermittent console hang: the stock kernel, 2 vCPUs, a verbose console on
a pty, host-side decompression, bhyvetest=reboot; each boot must print its
init marker within LOOP_TIMEOUT seconds.  A boot that misses it gets
SIGUSR2 (bhyve's state dump on stderr, kept in the run dir) and is killed.

  testhost.sh run tests/e2e/run-group.sh loop-boot.py [BOOTS [TIMEOUT [BHYVE[,BHYVE2...]]]]

With several binaries the boots alternate between them and the marker
times are summarised per binary (a fair A/B comparison in one test host).
The name "qemu" boots the same guest under qemu-system-x86_64 -enable-kvm
instead (2 vCPUs, same memory, kernel, initramfs and command line): the
reference for whether a hang is bhyve's or the nested hypervisor's.  A
hung QEMU gets no state dump; its vCPU threads' states are printed.  A
bhyve binary given as PATH:pin runs with vCPU thread N pinned to the test
host's CPU N (mod its CPUs) from its start, so that no vCPU thread moves
between CPUs: the A/B for whether the hangs come with such moves.
"""

import os
import pty
import subprocess
import sys
import threading
import time

import vmlib
from vmlib import *  # noqa: F401,F403

boots = int(sys.argv[1]) if len(sys.argv) > 1 else 20
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 120
bins = sys.argv[3].split(",") if len(sys.argv) > 3 else [vmlib.BHYVE]
hung = slow = 0
hung_bin = {b: 0 for b in bins}


def pin_vcpus(pid, i):
    """vCPU thread N on CPU N mod the CPU count, once the threads exist
    (after the kernel's decompression: a thread waits for them)."""
    n = os.cpu_count() or 1
    for _ in range(3000):
        done = 0
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            return		# it has ended
        for tid in tids:
            try:
                comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read()
            except OSError:
                continue
            if comm.startswith("vcpu "):
                os.sched_setaffinity(int(tid), {int(comm.split()[1]) % n})
                done += 1
        if done >= 2:		# the loop's guests have 2 vCPUs
            return
        time.sleep(0.02)
    print("boot %d: could not pin the vCPU threads" % i, flush=True)


times = []
per_bin = {b: [] for b in bins}
for i in range(boots):
    name = bins[i % len(bins)]
    pin = name.endswith(":pin")
    vmlib.BHYVE = name[:-4] if pin else name
    master, slave = pty.openpty()
    err = open(os.path.join(LOGDIR, "loop-%d.stderr" % i), "wb")
    args = bhyve_args("-o", "boot.decompress=true", cpus="2", mem="512M",
                      cmdline="console=ttyS0 bhyvetest=reboot")
    if vmlib.BHYVE == "qemu":
        args = ["qemu-system-x86_64", "-enable-kvm", "-cpu", "host", "-smp",
                "2", "-m", "512", "-display", "none", "-serial", "stdio",
                "-monitor", "none", "-no-reboot", "-kernel", KERNEL,
                "-initrd", INITRD, "-append",
                "console=ttyS0 bhyvetest=reboot"]
    t0 = time.time()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=err,
                            start_new_session=True)
    if pin:
        threading.Thread(target=pin_vcpus, args=(proc.pid, i),
                         daemon=True).start()
    con = Console(master, "loop-%d.log" % i)
    up = con.expect(rb"BHYVE-GUEST-UP", limit)
    dt = time.time() - t0
    if up is None:
        hung += 1
        hung_bin[name] += 1
        print("boot %d: NO MARKER after %.0f s; state dump in loop-%d.stderr"
              % (i, dt, i), flush=True)
        if vmlib.BHYVE == "qemu":
            for t in sorted(os.listdir("/proc/%d/task" % proc.pid)):
                try:
                    st = open("/proc/%d/task/%s/stat" % (proc.pid, t)).read()
                    print("  qemu thread %s: %s" % (t, " ".join(
                        st.rsplit(")", 1)[0].split("(", 1)[1:] +
                        st.rsplit(")", 1)[1].split()[:1] +
                        st.rsplit(")", 1)[1].split()[11:13])), flush=True)
                except OSError:
                    pass
            proc.kill()
            proc.wait()
        else:
            kill_with_dump(proc, con)
    else:
        times.append(dt)
        per_bin[name].append(dt)
        rc = wait_exit(proc, 60)
        print("boot %d: marker after %.1f s, exit %s (%s)" % (i, dt, rc,
                                                          name),
              flush=True)
        if rc != 0:
            slow += 1
    os.close(master)
    os.close(slave)
    err.close()
print("loop: %d boots, %d without the marker within %d s, %d bad exits, "
      "marker times %s" % (boots, hung, limit, slow,
                           " ".join("%.0f" % t for t in times)), flush=True)
for b, ts in per_bin.items():
    ts = sorted(ts)
    if ts:
        print("loop: %s: %d boots with the marker, median marker time %.1f "
              "s (min %.1f, max %.1f); %d without" % (
                  b, len(ts), ts[len(ts) // 2], ts[0], ts[-1], hung_bin[b]),
              flush=True)
sys.exit(1 if hung else 0)

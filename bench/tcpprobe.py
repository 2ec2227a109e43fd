#!/usr/bin/env python3
"""TCP probe, run inside the nested test host by bench/tcpprobe.sh.

For each VMM of PROBE_VMMS, one boot of bench/net.py's guest and tap, then
BENCH_REPS transfers of BENCH_MB MiB each way.  Guest to host (busybox
httpd in the guest, read by this script as bench/net.py reads), the guest
traces its TCP (the tcp_probe tracepoint, one event per acknowledgement
the sender takes) and prints, per 100 ms: the acknowledgements, the
sender's congestion window in segments (mean and largest), its smoothed
round trip and slow-start threshold.  Host to guest (busybox wget in the
guest from this script, as bench/net.py), the sender is this script: it
prints its own TCP_INFO per 100 ms (window, round trip, the guest's
advertised window, data in flight) and, at the end, how long the
connection was busy and how much of that the guest's receive window or
the send buffer limited it.  Around each transfer: the test host's
per-CPU split, the guest's own (/proc/stat) and its virtio interrupts.

A window that stays flat for the whole transfer while the data in flight
(throughput times round trip) is well below it means the sender was held
back by something else than the window, such as TCP small queues, which
count a sent frame until the guest's driver frees it."""

import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import net  # noqa: E402
from vmlib import Console, wait_exit  # noqa: E402
from vmmmem import confine, pin_vcpus  # noqa: E402

MB = int(os.environ.get("BENCH_MB", "192"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
TRACE = "/sys/kernel/tracing"
# The guest's CPU split and virtio interrupt counts, for report().
GUEST_COUNTERS = "head -1 /proc/stat; grep virtio /proc/interrupts"
SUMMARY = (r"""awk '/tcp_probe:/ { for (i = 1; i <= NF; i++) {"""
           r""" if ($i ~ /^[0-9]+\.[0-9]+:$/) t = $i + 0;"""
           r""" split($i, kv, "="); v[kv[1]] = kv[2] }"""
           r""" if (t0 == "") t0 = t; b = int((t - t0) * 10); n[b]++;"""
           r""" cw[b] += v["snd_cwnd"]; rt[b] += v["srtt"];"""
           r""" ss[b] = v["ssthresh"]; if (b > last) last = b;"""
           r""" if (mx[b] < v["snd_cwnd"] + 0) mx[b] = v["snd_cwnd"] + 0 }"""
           r""" END { for (b = 0; b <= last; b++) if (n[b]) printf"""
           r""" "TCP %4.1fs acks %5d cwnd %7.1f max %5d srtt %6.0f us"""
           r""" ssthresh %s\n", b / 10, n[b], cw[b] / n[b], mx[b],"""
           r""" rt[b] / n[b], ss[b] }' """ + TRACE + "/trace")


def cpustat():
    d = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu"):
                x = line.split()
                d[x[0]] = [int(v) for v in x[1:]]
    return d


def split(x):
    """user, system, idle, softirq shares of a /proc/stat delta; guest
    time is counted in user already."""
    tot = sum(x[:8]) or 1
    return "user %d%% sys %d%% idle %d%% softirq %d%%" % (
        100 * x[0] // tot, 100 * x[2] // tot, 100 * x[3] // tot,
        100 * x[6] // tot)


def report(a, b, g0, g1):
    """The test host's per-CPU split between cpustat()s a and b; the
    guest's split and virtio interrupts between its outputs g0 and g1 of
    GUEST_COUNTERS."""
    for cpu in sorted(b):
        if cpu != "cpu":
            print("  test host %s: %s" % (cpu, split(
                [q - p for p, q in zip(a[cpu], b[cpu])])))
    s0 = [int(v) for v in re.search(r"cpu +([\d ]+)", g0).group(1).split()]
    s1 = [int(v) for v in re.search(r"cpu +([\d ]+)", g1).group(1).split()]
    print("  guest: %s" % split([q - p for p, q in zip(s0, s1)]))
    irq = [re.findall(r"^\s*\d+:\s+(\d+).*?(virtio\S+)\s*$", g, re.M)
           for g in (g0, g1)]
    print("  guest virtio interrupts: " + ", ".join(
        "%s %d" % (n1, int(c1) - int(c0))
        for (c0, _), (c1, n1) in zip(irq[0], irq[1])))


def tcp_info(c):
    """window, round trip (us), advertised window, unacked segments; busy,
    rwnd-limited and sndbuf-limited time (us) of socket c."""
    b = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    unacked = struct.unpack_from("I", b, 24)[0]
    rtt, _, _, cwnd = struct.unpack_from("IIII", b, 68)
    busy, rwnd, sndbuf = struct.unpack_from("QQQ", b, 168)
    wnd = struct.unpack_from("I", b, 228)[0] if len(b) >= 232 else -1
    return cwnd, rtt, wnd, unacked, busy, rwnd, sndbuf


def serve(port, nbytes, out):
    """host->guest: one GET of nbytes; out gets the seconds, the
    TCP_INFO samples (every 100 ms) and the last one."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((net.HOST, port))
    srv.listen(1)
    srv.settimeout(120)
    buf = memoryview(b"\0" * (1 << 20))

    def run():
        try:
            c, _ = srv.accept()
            c.settimeout(120)
            net.read_head(c, "request")
            t0 = nxt = time.time()
            samples = []
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                      % nbytes)
            left = nbytes
            while left > 0:
                left -= c.send(buf[:min(left, 256 << 10)])
                if time.time() >= nxt:
                    samples.append((time.time() - t0, tcp_info(c)))
                    nxt += 0.1
            out["last"] = tcp_info(c)
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
            out["s"] = time.time() - t0
            out["samples"] = samples
            c.close()
        except OSError as e:
            out["error"] = str(e)
        srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def probe(name, path):
    if path:
        net.BHYVE = path
    proc = subprocess.Popen(net.vmm_cmd("qemu" if name == "qemu" else
                                        "bhyve"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    con = Console(proc.stdout.fileno(), "tcpprobe-%s.log" % name)
    step = [0]

    def run(cmd, timeout=300):
        step[0] += 1
        mark = "@@P%d" % step[0]
        # (quoted so that the shell's echo of the line does not match)
        proc.stdin.write(("%s; echo @@P''%d\n" % (cmd, step[0])).encode())
        proc.stdin.flush()
        m = con.expect(mark.encode() + rb"\r?\n", timeout)
        if m is None:
            raise RuntimeError("%s: no answer to %r" % (name, cmd))
        return m.string[:m.start()].decode(errors="replace")

    try:
        if con.expect(rb"BHYVE-GUEST-SCRIPT", 600) is None:
            raise RuntimeError("%s: guest did not come up" % name)
        pin_vcpus(proc.pid)
        run("ip link set eth0 up; ip addr add %s/24 dev eth0; "
            "ping -c 1 -W 5 %s >/dev/null" % (net.GUEST, net.HOST))
        run("mount -t tracefs nodev %s; echo 16384 > %s/buffer_size_kb; "
            "echo 'sport == %d' > %s/events/tcp/tcp_probe/filter; "
            "echo 1 > %s/events/tcp/tcp_probe/enable"
            % (TRACE, TRACE, net.HTTP_PORT, TRACE, TRACE))
        run("dd if=/dev/zero of=/tmp/up bs=1M count=%d 2>/dev/null; "
            "httpd -p %d -h /tmp" % (MB, net.HTTP_PORT))
        for i in range(REPS):
            run("echo > %s/trace" % TRACE)
            g0 = run(GUEST_COUNTERS)
            a = cpustat()
            out = {}
            net.http_get(MB << 20, out)
            b = cpustat()
            g1 = run(GUEST_COUNTERS)
            if "s" not in out:
                print("%s transfer %d: %s" % (name, i, out.get("error")))
                continue
            print("%s guest->host transfer %d: %.1f MB/s" % (
                name, i, out["n"] / out["s"] / 1e6))
            report(a, b, g0, g1)
            for line in run(SUMMARY).splitlines():
                if line.startswith("TCP "):
                    print("  " + line)
            sys.stdout.flush()
        for i in range(REPS):
            out = {}
            port = 8100 + i
            t = serve(port, MB << 20, out)
            g0 = run(GUEST_COUNTERS)
            a = cpustat()
            run("wget -q -O /dev/null http://%s:%d/down" % (net.HOST, port),
                600)
            t.join(30)
            b = cpustat()
            g1 = run(GUEST_COUNTERS)
            if "s" not in out:
                print("%s transfer %d: %s" % (name, i, out.get("error")))
                continue
            print("%s host->guest transfer %d: %.1f MB/s" % (
                name, i, (MB << 20) / out["s"] / 1e6))
            report(a, b, g0, g1)
            for ts, (cwnd, rtt, wnd, unacked, _, _, _) in out["samples"]:
                print("  TCP %4.1fs cwnd %5d rtt %6d us guest's window %7d "
                      "in flight %5d" % (ts, cwnd, rtt, wnd, unacked))
            busy, rwnd, sndbuf = out["last"][4:]
            print("  sender busy %d ms, limited by the guest's window %d ms, "
                  "by its send buffer %d ms" % (busy // 1000, rwnd // 1000,
                                                 sndbuf // 1000))
            sys.stdout.flush()
    finally:
        proc.stdin.write(b"reboot -f\n")
        proc.stdin.flush()
        while con.pump(1.0):
            pass
        wait_exit(proc, 30)


def main():
    subprocess.run("ip tuntap add dev tap0 mode tap && ip addr add %s/24 "
                   "dev tap0 && ip link set tap0 up" % net.HOST,
                   shell=True, check=True)
    confine()
    for spec in os.environ.get("PROBE_VMMS", "bhyve qemu").split():
        name, _, path = spec.partition("=")
        probe(name, path)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Network throughput benchmark, run inside the nested test host by
bench/net.sh: TCP bulk transfer guest->host and host->guest over a tap
(tap0, 192.168.77.1/24 on the test host, 192.168.77.2 in the guest), the
same kernel and busybox initramfs under our bhyve (virtio-net) and under
QEMU (virtio-net-pci on a tap, vhost=off; -cpu host, as bhyve passes the
host's CPU features through), BENCH_ROUNDS rounds that
alternate the VMMs, one guest boot per VMM and round with BENCH_REPS
transfers of BENCH_MB MiB each way.

guest->host: the test host fetches a BENCH_MB MiB file from the guest's
busybox httpd (which sends it with one sendfile() from the guest's tmpfs)
and times from the first to the last body byte.  host->guest: busybox wget
in the guest (64 KiB reads) fetches as much from a one-shot HTTP server on
the test host, timed from the request until the guest, having read
everything, closed the connection.  (The guest first ran busybox nc, which
reads and writes 1 KiB per system call: the guest's own syscalls set the
pace, and as the sender a device that answered faster made the guest send
smaller segments.)

Transfers are 192 MiB by default (the guest's tmpfs holds up to 256), not
64 as until 2026-11-28T18:20Z: a 64 MiB transfer lasted well under a
second, most of it in the sender's slow start, and where that ended was
decided by the guest's TCP (CUBIC's HyStart) on timing noise.  One probe
of each VMM (one boot each) saw it end at a window of 44 segments under bhyve
(ACK-train detection) and at 1541 under QEMU (delay detection).  Longer
transfers measure the steady state, as iperf's 10 s runs do.

Unless BENCH_WARMUP=0, one uncounted boot of each VMM with one transfer
each way comes first (a fresh test host runs slower at first, and whoever
went first paid for it); the counted rounds reverse the VMMs' order every
other round, so that a drift within the run favours neither.

Unless BENCH_PIN=0, each guest's vCPU thread runs on the test host's CPU 1
and everything else (the VMM's other threads, this script with its HTTP
endpoint, the test host's network stack) on CPU 0, for both VMMs alike.

Prints one line per VMM and the bhyve/QEMU ratios of the medians; the VMM's
own CPU time per MiB moved (its threads but the vCPUs'); the guest's own
counters (frames sent and received, average sizes, virtio interrupts);
results.txt in the run dir."""

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from vmlib import (BHYVE, INITRD, KERNEL, LOGDIR, Console,  # noqa: E402
                   wait_exit)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import QEMU, qemu_version  # noqa: E402
from vmmmem import (PIN, WARMUP, Sampler, confine, cpu_ticks,  # noqa: E402
                     cpu_us, kvm_counts, per_unit, pin_vcpus, rounds)

HOST = "192.168.77.1"
HTTP_PORT = 8000
GUEST = "192.168.77.2"
MB = int(os.environ.get("BENCH_MB", "192"))
REPS = int(os.environ.get("BENCH_REPS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
VMMS = os.environ.get("BENCH_VMMS", "bhyve qemu").split()
BHYVE_B = os.environ.get("BHYVE_B", "")   # a second build to compare, "bhyve-b"
CMDLINE = "console=ttyS0 bhyvetest=script bhyvemods=virtio_pci,virtio_net"


def vmm_cmd(name):
    if name in ("bhyve", "bhyve-b"):
        return [BHYVE if name == "bhyve" else BHYVE_B, "-H", "-P", "-c", "1",
                "-m", "512M", "-s", "0,hostbridge",
                "-s", "31,lpc", "-l", "com1,stdio",
                "-s", "4,virtio-net,tap0",
                "-o", "boot.kernel=" + KERNEL, "-o", "boot.initrd=" + INITRD,
                "-o", "boot.cmdline=" + CMDLINE, "benchvm"]
    # (debug-threads names the vCPU thread "CPU 0/KVM", for cpu_ticks.)
    return [QEMU, "-enable-kvm", "-cpu", "host", "-M", "pc",
            "-m", "512", "-name", "benchvm,debug-threads=on",
            "-display", "none", "-serial", "stdio", "-monitor", "none",
            "-no-reboot", "-netdev",
            "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off",
            "-device", "virtio-net-pci,netdev=n0",
            "-kernel", KERNEL, "-initrd", INITRD, "-append", CMDLINE]


def read_head(c, what):
    """Read an HTTP request's or response's head from socket c; the bytes
    that came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = c.recv(65536)
        if not b:
            raise OSError("connection closed in the %s" % what)
        data += b
    return data.split(b"\r\n\r\n", 1)[1]


def http_get(nbytes, out):
    """guest->host: GET the guest's file over HTTP; out gets the seconds
    from the first to the last body byte and the bytes, or an error."""
    try:
        c = socket.create_connection((GUEST, HTTP_PORT), timeout=120)
        c.sendall(b"GET /up HTTP/1.0\r\n\r\n")
        n = len(read_head(c, "headers"))
        t0 = time.time()
        # Into one buffer, as a bulk receiver (iperf) reads: a fresh
        # 1 MiB object per recv() cost this CPU a page fault and a
        # zeroed page per 4 KiB, as much as the copy itself, on the CPU
        # the VMM's I/O shares.
        buf = bytearray(1 << 20)
        while n < nbytes:
            got = c.recv_into(buf)
            if not got:
                break
            n += got
        out["s"] = time.time() - t0
        out["n"] = n
        c.close()
    except OSError as e:
        out["error"] = str(e)


def http_serve(port, nbytes, out):
    """host->guest: serve one GET of nbytes in a thread; out gets the
    seconds from the request until the guest, having read everything,
    closed the connection."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, port))
    srv.listen(1)
    srv.settimeout(120)
    # (A memoryview: slicing bytes would copy up to 1 MiB per send(), on
    # the CPU the VMM's own threads use when pinned.)
    buf = memoryview(b"\0" * (1 << 20))

    def run():
        left = nbytes
        try:
            c, _ = srv.accept()
            c.settimeout(120)
            read_head(c, "request")
            t0 = time.time()
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                      % nbytes)
            while left > 0:
                left -= c.send(buf[:min(left, len(buf))])
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
            out["s"] = time.time() - t0
            c.close()
        except OSError as e:
            out["error"] = "%s with %d of %d bytes left" % (e, left, nbytes)
        srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def stalled(proc, con, name):
    """A transfer stalled with the VMM still running: bhyve's state dump
    (SIGUSR2) into the console log; the boot ends there."""
    if name.startswith("bhyve"):
        proc.send_signal(signal.SIGUSR2)
        con.expect(rb"nothing-to-wait-for", 5)


def bench(name, rnd=0, reps=REPS):
    log = os.path.join(LOGDIR, "bench-net-%s-%s.log" % (name, rnd))
    proc = subprocess.Popen(vmm_cmd(name), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    con = Console(proc.stdout.fileno(), os.path.basename(log))
    mem = Sampler(proc.pid, 512)

    def run(cmd, marker, timeout=200):
        if proc.poll() is not None:
            return None
        try:
            proc.stdin.write(cmd.encode() + b"\n")
            proc.stdin.flush()
        except OSError:		# the VMM is gone (a lost guest)
            return None
        return con.expect(marker.encode(), timeout)

    res = {"up": [], "down": [], "upcpu": [], "downcpu": [], "upex": [],
           "downex": []}
    # (The test host stops a run that prints nothing for 300 s.)
    if con.expect(rb"BHYVE-GUEST-SCRIPT", 200) is None:
        print("bench: %s's guest did not come up (console log %s)" % (
            name, log), flush=True)
        proc.kill()
        proc.wait()
        return None
    pin_vcpus(proc.pid)
    run("ip link set eth0 up; ip addr add %s/24 dev eth0; "
        "ping -c 1 -W 5 %s >/dev/null; echo NET-UP" % (GUEST, HOST), "NET-UP")
    if os.environ.get("BENCH_GUEST_SETUP"):
        run(os.environ["BENCH_GUEST_SETUP"] + "; echo SETUP-DONE", "SETUP-DONE")
    nbytes = MB << 20
    # The file the test host fetches, in the guest's tmpfs, and the server.
    run("dd if=/dev/zero of=/tmp/up bs=1M count=%d 2>/dev/null; httpd -p %d "
        "-h /tmp; echo HTTPD-UP" % (MB, HTTP_PORT), "HTTPD-UP")
    for i in range(reps):
        out = {}
        cpu0 = cpu_ticks(proc.pid)
        k0 = kvm_counts()
        http_get(nbytes, out)
        us = cpu_us(cpu0, cpu_ticks(proc.pid))
        ex = per_unit(k0, kvm_counts(), MB)
        if out.get("n") == nbytes and out["s"] > 0:
            res["up"].append(nbytes / out["s"] / 1e6)
            if us is not None:
                res["upcpu"].append(us / MB)
            if ex is not None:
                res["upex"].append(ex)
        else:
            print("bench: %s guest->host transfer failed: %s" % (
                name, out.get("error", "%s of %d bytes" % (out.get("n"),
                                                          nbytes))),
                  flush=True)
            if proc.poll() is None:
                stalled(proc, con, name)
                res["lost"] = True
                break
        if proc.poll() is not None:
            print("bench: %s's guest was lost (exit status %s; console log "
                  "%s)" % (name, proc.returncode, log), flush=True)
            res["lost"] = True
            break
        out = {}
        cpu0 = cpu_ticks(proc.pid)
        k0 = kvm_counts()
        t = http_serve(HTTP_PORT + 1 + i, nbytes, out)
        run("wget -q -O /dev/null http://%s:%d/down; echo DOWN-DONE-%d"
            % (HOST, HTTP_PORT + 1 + i, i), "DOWN-DONE-%d" % i, 150)
        t.join(10)
        us = cpu_us(cpu0, cpu_ticks(proc.pid))
        ex = per_unit(k0, kvm_counts(), MB)
        if "s" not in out:
            print("bench: %s host->guest transfer failed: %s" % (
                name, out.get("error", "no result")), flush=True)
            if proc.poll() is None:
                stalled(proc, con, name)
            res["lost"] = True
            break
        res["down"].append(nbytes / out["s"] / 1e6)
        if us is not None:
            res["downcpu"].append(us / MB)
        if ex is not None:
            res["downex"].append(ex)
        print("bench: %s transfer %d done" % (name, i), flush=True)
    # The guest's view: its interface counters (a TSO frame counts once,
    # at its full length) and the virtio interrupts it took.
    m = None
    if not res.get("lost"):
        m = run('echo "NETDEV $(grep eth0: /proc/net/dev)"; echo "IRQS $(grep '
                'virtio /proc/interrupts | tr -s \' \' | cut -d\' \' -f3 | tr '
                '\'\\n\' \' \')"; echo STATS-DONE', "STATS-DONE", 60)
    if m is not None:
        st = re.search(rb"NETDEV\s+eth0:\s*(\d+)\s+(\d+)(?:\s+\d+){6}\s+"
                       rb"(\d+)\s+(\d+)", m.string)
        irq = re.search(rb"IRQS ([\d ]+)\r?\n", m.string)
        if st:
            rxb, rxp, txb, txp = (int(x) for x in st.groups())
            res["frames"] = "guest frames: tx %d, %d B avg; rx %d, %d B "\
                "avg" % (txp, txb // max(txp, 1), rxp, rxb // max(rxp, 1))
        if irq:
            res["frames"] = res.get("frames", "") + "; virtio irqs %s" % \
                irq.group(1).decode().strip()
    res["mem"] = mem.stop()
    try:
        proc.stdin.write(b"reboot -f\n")
        proc.stdin.flush()
    except OSError:
        pass
    while con.pump(1.0):
        pass
    wait_exit(proc, 30)
    return res


def main():
    subprocess.run("ip tuntap add dev tap0 mode tap && ip addr add %s/24 "
                   "dev tap0 && ip link set tap0 up" % HOST, shell=True,
                   check=True)
    confine()
    lines = ["%d MiB per transfer, %d transfers each way per boot, %d "
             "alternating rounds%s, median MB/s; guest: 1 vCPU, 512 MiB; "
             "guest->host from busybox httpd, host->guest by busybox wget; "
             "%s%s" % (MB, REPS, ROUNDS,
                       " after a warm-up" if WARMUP else "",
                       time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
                       "; vCPU pinned to CPU 1, all else to CPU 0" if PIN
                       else ""),
             "qemu: " + qemu_version(),
             *(["guest setup: " + os.environ["BENCH_GUEST_SETUP"]]
               if os.environ.get("BENCH_GUEST_SETUP") else []),
             "%-8s %14s %14s" % ("vmm", "guest->host", "host->guest")]
    # The medians are over every transfer of the counted rounds.
    got = {v: {"up": [], "down": [], "upcpu": [], "downcpu": [], "upex": [],
               "downex": [], "mem": 0,
               "frames": [], "secs": 0.0} for v in VMMS}
    for rnd, v in rounds(VMMS, ROUNDS, lambda v: bench(v, "warm", 1)):
        t0 = time.time()
        r = bench(v, rnd)
        g = got[v]
        g["secs"] += time.time() - t0
        if r is None or r.get("lost"):
            g["lost"] = g.get("lost", 0) + 1
        if r is None:
            continue
        for k in ("up", "down", "upcpu", "downcpu", "upex", "downex"):
            g[k] += r[k]
        g["mem"] = max(g["mem"], r.get("mem") or 0)
        if r.get("frames"):
            g["frames"].append(r["frames"])
    med = {}
    for v in VMMS:
        g = got[v]
        if not g["up"] or not g["down"]:
            lines.append("%-8s %14s %14s   (%d boot(s) lost or stalled)" % (
                v, "failed", "failed", g.get("lost", 0)))
            continue
        med[v] = (statistics.median(g["up"]), statistics.median(g["down"]))
        lines.append("%-8s %14.1f %14.1f   (transfers: up %s, down %s; %.0f s; "
                     "own memory %d KiB%s)" % (
            v, med[v][0], med[v][1],
            " ".join("%.1f" % x for x in g["up"]),
            " ".join("%.1f" % x for x in g["down"]), g["secs"], g["mem"],
            "; %d boot(s) lost or stalled" % g["lost"] if g.get("lost") else ""))
        if g["upcpu"] and g["downcpu"]:
            lines.append("%-8s VMM's own CPU per MiB (threads but the vCPUs', "
                         "median): guest->host %.0f us, host->guest %.0f us"
                         % ("", statistics.median(g["upcpu"]),
                            statistics.median(g["downcpu"])))
        if g["upex"] and g["downex"]:
            u, d = (tuple(statistics.median(x[i] for x in g[k])
                          for i in (0, 1)) for k in ("upex", "downex"))
            lines.append("%-8s guest exits per MiB (the test host's KVM; "
                         "emulated instructions among them), median: "
                         "guest->host %.1f (%.1f), host->guest %.1f (%.1f)"
                         % (("",) + u + d))
        for f in g["frames"]:
            lines.append("%-8s %s" % ("", f))
    for b in ("bhyve", "bhyve-b"):
        if b in med and "qemu" in med:
            lines.append("%s/qemu: guest->host %.2f, host->guest %.2f" % (
                b, med[b][0] / med["qemu"][0], med[b][1] / med["qemu"][1]))
    text = "\n".join(lines)
    print(text, flush=True)
    open(os.path.join(LOGDIR, "results.txt"), "w").write(text + "\n")


if __name__ == "__main__":
    main()

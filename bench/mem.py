#!/usr/bin/env python3
"""Inside the nested test host (started by bench/mem.sh): each VMM boots the
same guest with virtio-blk (a 256 MiB image on tmpfs), virtio-rnd,
virtio-net over user networking (slirp; bhyve with open=true, as
QEMU's user networking reaches the host by default) and virtio-console (one port on a
Unix socket); the guest reads and writes the disk (O_DIRECT), takes a DHCP
lease, fetches 4 MiB over TCP from the test host and reads /dev/hwrng, and a host client sends and
receives through the console port.  The VMM's own memory (RSS minus the
guest-RAM mapping, bench/vmmmem.py) is sampled throughout; the peak is
reported, with the goal of bhyve under 5 MiB."""

import http.server
import os
import socket
import threading
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests", "e2e"))
from vmlib import INITRD, KERNEL, LOGDIR, Console, wait_exit  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import QEMU, qemu_version  # noqa: E402
from vmmmem import Sampler  # noqa: E402

BHYVE = os.environ["BHYVE"]
VMMS = os.environ.get("BENCH_VMMS", "bhyve qemu").split()
IMG = "/tmp/bench-mem.img"
SOCK = "/tmp/bench-mem-con.sock"
MEM_MB = 512
CMDLINE = ("console=ttyS0 bhyvetest=script bhyvemods=virtio_pci,virtio_blk,"
           "virtio_rng,virtio_net,virtio_console")
PORT = 8099
WORK = ("dd if=/dev/vda of=/dev/null bs=1M count=200 iflag=direct"
        " 2>/dev/null; dd if=/dev/zero of=/dev/vda bs=1M count=100"
        " oflag=direct 2>/dev/null; ip link set eth0 up; udhcpc -i eth0 -n"
        " -q -t 10 -T 2 >/dev/null 2>&1; echo DHCP=$?;"
        " ip addr add 10.0.2.15/24 dev eth0;"
        " wget -q -O /dev/null http://10.0.2.2:%d/blob; echo WGET=$?;"
        " dd if=/dev/hwrng of=/dev/null bs=1k count=64 2>/dev/null;"
        " for p in /sys/class/virtio-ports/vport*; do [ \"$(cat $p/name)\" ="
        " port1 ] && P=/dev/${p##*/}; done; echo from-guest > $P;"
        " timeout 30 head -n1 $P; echo WORK-DONE\n" % PORT)


class Blob(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"x" * (4 << 20)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def vmm_cmd(name):
    if name == "bhyve":
        return [BHYVE, "-H", "-P", "-c", "1", "-m", "%dM" % MEM_MB, "-s", "0,hostbridge",
                "-s", "4,virtio-blk," + IMG, "-s", "5,virtio-rnd",
                "-s", "6,virtio-net,slirp,open=true",
                "-s", "7,virtio-console,port1=" + SOCK,
                "-s", "31,lpc", "-l", "com1,stdio",
                "-o", "boot.kernel=" + KERNEL, "-o", "boot.initrd=" + INITRD,
                "-o", "boot.cmdline=" + CMDLINE, "benchvm"]
    return [QEMU, "-enable-kvm", "-M", "pc", "-m", str(MEM_MB),
            "-display", "none", "-serial", "stdio", "-monitor", "none",
            "-no-reboot", "-kernel", KERNEL, "-initrd", INITRD,
            "-append", CMDLINE,
            "-drive", "file=%s,if=none,id=d0,format=raw" % IMG,
            "-device", "virtio-blk-pci,drive=d0",
            "-device", "virtio-rng-pci",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-serial-pci",
            "-chardev", "socket,id=c0,path=%s,server=on,wait=off" % SOCK,
            "-device", "virtserialport,chardev=c0,name=port1"]


def run(name):
    """(peak own KiB, what worked) for one VMM."""
    for p in (IMG, SOCK):
        if os.path.exists(p):
            os.unlink(p)
    subprocess.run(["truncate", "-s", "256M", IMG], check=True)
    print("bench: %s starting" % name, flush=True)
    proc = subprocess.Popen(vmm_cmd(name), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    con = Console(proc.stdout.fileno(), "bench-mem-%s.log" % name)
    mem = Sampler(proc.pid, MEM_MB)
    ok = []
    if con.expect(rb"BHYVE-GUEST-SCRIPT", 600) is not None:
        c = None
        for _ in range(50):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(SOCK)
                break
            except OSError:
                c = None
                time.sleep(0.1)
        print("bench: %s guest up, working" % name, flush=True)
        proc.stdin.write(WORK.encode())
        proc.stdin.flush()
        got = b""
        if c is not None:
            c.settimeout(120)
            try:
                while b"from-guest" not in got:
                    d = c.recv(4096)
                    if not d:
                        break
                    got += d
                c.sendall(b"from-host\n")
            except OSError:
                pass
        m = con.expect(rb"(?s)DHCP=(\d+).*?WGET=(\d+)(.*?)WORK-DONE", 300)
        if m:
            ok.append("dhcp" if m.group(1) == b"0" else "no dhcp")
            ok.append("4 MiB over TCP" if m.group(2) == b"0" else
                      "no TCP transfer")
            ok.append("console" if b"from-host" in m.group(3) and
                      b"from-guest" in got else "no console")
        else:
            ok.append("the guest's work did not finish")
        if c is not None:
            c.close()
    else:
        ok.append("guest did not come up")
    peak = mem.stop()
    proc.stdin.write(b"reboot -f\n")
    proc.stdin.flush()
    while con.pump(1.0):
        pass
    wait_exit(proc, 60)
    return peak, ok


def main():
    lines = ["VMM's own memory (RSS minus guest RAM, peak), virtio-blk + "
             "virtio-rnd + virtio-net (slirp) + virtio-console at work, "
             "%d MiB guest; %s" % (MEM_MB, time.strftime("%Y-%m-%dT%H:%MZ",
                                                        time.gmtime())),
             "qemu: " + qemu_version()]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Blob)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    for v in VMMS:
        peak, ok = run(v)
        print("bench: %s: %d KiB (%s)" % (v, peak, ", ".join(ok)), flush=True)
        lines.append("%-6s %8d KiB   (%s)" % (v, peak, ", ".join(ok)))
    os.unlink(IMG)
    text = "\n".join(lines)
    print(text, flush=True)
    open(os.path.join(LOGDIR, "results.txt"), "w").write(text + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""e2e group "net": virtio-net inside the nested test host (no traffic
leaves the test host).  Boot 1: a tap (tap0, 192.168.77.1/24 on the test
host side), the derived MAC, mtu=, ping, a 4 MiB download and a 2 MiB
upload checked by MD5.  Boot 2: slirp with open=true, mac= and two hostfwd
rules: DHCP, a page from a server on the test host's 127.0.0.1 through the
gateway 10.0.2.2, and the test host reaching a guest web server through a
forwarded port.  After the tap boot, the same tap under the legacy virtio
interface (virtio_pci.force_legacy=1).  Boot 3: slirp without open=true (bhyve's default,
restricted): DHCP works, the host's services stay out of reach.  The
negotiated virtio features are read from the guest's sysfs.
"""

import hashlib
import http.server
import os
import re
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request

from vmlib import *  # noqa: F401,F403

MODS = "loglevel=4 bhyvemods=virtio_pci,virtio_net"
HOST_IP = "192.168.77.1"
VMNAME = "e2evm"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def derived_mac(slot, func, name):
    d = hashlib.md5(("%d-%d-%s" % (slot, func, name)).encode()).digest()
    return "58:9c:fc:%02x:%02x:%02x" % (d[0], d[1], d[2])


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def serve_dir(directory, addr, port):
    """An HTTP server for `directory` on addr:port, in a thread."""
    handler = lambda *a, **k: Quiet(*a, directory=directory, **k)  # noqa: E731
    socketserver.TCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer((addr, port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def receiver(addr, port, nbytes, result):
    """Accept one connection, read nbytes, keep their MD5 in result."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(BOOT_TIMEOUT)

    def run():
        try:
            c, _ = s.accept()
            c.settimeout(120)
            h, n = hashlib.md5(), 0
            while n < nbytes:
                b = c.recv(65536)
                if not b:
                    break
                h.update(b)
                n += len(b)
            result["md5"], result["n"] = h.hexdigest(), n
            c.close()
        except OSError as e:
            result["error"] = str(e)
        s.close()
    threading.Thread(target=run, daemon=True).start()


def field(out, key):
    """KEY=value at the start of a line (a kernel message may follow on
    the same line)."""
    m = re.search(r"^%s=([^\s\[]*)" % key, out, re.M)
    return m.group(1) if m else None


def check_tap():
    sh("ip tuntap add dev tap0 mode tap && ip addr add %s/24 dev tap0 && "
       "ip link set tap0 up" % HOST_IP)
    www = os.path.join(LOGDIR, "www")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(4 << 20)
    open(os.path.join(www, "blob"), "wb").write(blob)
    srv = serve_dir(www, HOST_IP, 8000)
    up = {}
    receiver(HOST_IP, 6000, 2 << 20, up)
    script = (
        "echo MAC=$(cat /sys/class/net/eth0/address)\n"
        "echo MTU=$(cat /sys/class/net/eth0/mtu)\n"
        "echo FEAT=$(cat /sys/bus/virtio/devices/virtio*/features)\n"
        "ip link set eth0 up; ip addr add 192.168.77.2/24 dev eth0\n"
        "ping -c 3 -W 5 %(h)s >/dev/null 2>&1; echo PING=$?\n"
        "wget -q -O /tmp/dl http://%(h)s:8000/blob; "
        "echo DLMD5=$(md5sum </tmp/dl | cut -d' ' -f1)\n"
        "dd if=/dev/urandom of=/tmp/up bs=1024 count=2048 2>/dev/null\n"
        "echo UPMD5=$(md5sum </tmp/up | cut -d' ' -f1)\n"
        "nc %(h)s 6000 </tmp/up; echo UPLOADED\n"
        "rmmod virtio_net && modprobe virtio_net && sleep 1 && "
        "ip link set eth0 up && ip addr add 192.168.77.2/24 dev eth0 && "
        "ping -c 2 -W 5 %(h)s >/dev/null 2>&1; echo RELOAD=$?\n"
        "lspci -n | grep ' 0200: ' ; reboot -f\n" % {"h": HOST_IP})
    rc, out = run_script_boot("net-tap", bhyve_args(
        "-s", "4,virtio-net,tap0,mtu=1400", mem="512M", name=VMNAME,
        cmdline="console=ttyS0 bhyvetest=script " + MODS), script)
    srv.shutdown()
    report("net-tap-boots", "BHYVE-GUEST-UP" in out, "no marker")
    report("net-tap-lspci", re.search(r"00:04\.0 0200: 1af4:1000", out)
           is not None, "no virtio-net function at 00:04.0")
    want = derived_mac(4, 0, VMNAME)
    report("net-derived-mac", field(out, "MAC") == want,
           "guest MAC %s, expected %s" % (field(out, "MAC"), want))
    report("net-mtu-option", field(out, "MTU") == "1400",
           "guest MTU %s" % field(out, "MTU"))
    feat = field(out, "FEAT") or ""
    want_bits = {"CSUM": 0, "GUEST_CSUM": 1, "MTU": 3, "MAC": 5,
                 "GUEST_TSO4": 7, "GUEST_TSO6": 8, "HOST_TSO4": 11,
                 "HOST_TSO6": 12, "MRG_RXBUF": 15, "STATUS": 16}
    missing = [k for k, b in want_bits.items()
               if len(feat) <= b or feat[b] != "1"]
    report("net-tap-features", not missing,
           "not negotiated: %s (features %s)" % (missing, feat))
    report("net-tap-ping", field(out, "PING") == "0",
           "ping status %s" % field(out, "PING"))
    report("net-tap-download-4m", field(out, "DLMD5") ==
           hashlib.md5(blob).hexdigest(), "guest got %s" % field(out, "DLMD5"))
    time.sleep(0.5)
    report("net-tap-upload-2m", up.get("md5") is not None and
           up.get("md5") == field(out, "UPMD5"),
           "host got %s (%s bytes, %s), guest sent %s" % (
               up.get("md5"), up.get("n"), up.get("error"),
               field(out, "UPMD5")))
    report("net-tap-driver-reload", field(out, "RELOAD") == "0",
           "after rmmod/modprobe (device reset): status %s" %
           field(out, "RELOAD"))
    report("net-tap-reboot-0", rc == 0, "exit status %s" % rc)


def check_tap_legacy():
    """The legacy virtio interface (virtio_pci.force_legacy=1): the same
    tap, mergeable buffers and offloads without VERSION_1."""
    www = os.path.join(LOGDIR, "www4")
    os.makedirs(www, exist_ok=True)
    blob = os.urandom(1 << 20)
    open(os.path.join(www, "blob"), "wb").write(blob)
    srv = serve_dir(www, HOST_IP, 8003)
    script = (
        "echo FEAT=$(cat /sys/bus/virtio/devices/virtio*/features)\n"
        "ip link set eth0 up; ip addr add 192.168.77.2/24 dev eth0\n"
        "ping -c 2 -W 5 %(h)s >/dev/null 2>&1; echo PING=$?\n"
        "wget -q -O /tmp/dl http://%(h)s:8003/blob; "
        "echo DLMD5=$(md5sum </tmp/dl | cut -d' ' -f1)\n"
        "reboot -f\n" % {"h": HOST_IP})
    rc, out = run_script_boot("net-tap-legacy", bhyve_args(
        "-s", "6,virtio-net,tap0", mem="512M", name=VMNAME,
        cmdline="console=ttyS0 bhyvetest=script virtio_pci.force_legacy=1 "
        + MODS), script)
    srv.shutdown()
    feat = field(out, "FEAT") or ""
    report("net-legacy-features", len(feat) > 32 and feat[32] == "0" and
           feat[15] == "1" and feat[0] == "1" and feat[11] == "1",
           "features %s" % feat)
    report("net-legacy-ping", field(out, "PING") == "0",
           "ping status %s" % field(out, "PING"))
    report("net-legacy-download-1m", field(out, "DLMD5") ==
           hashlib.md5(blob).hexdigest(), "guest got %s (exit %s)" %
           (field(out, "DLMD5"), rc))


class Session:
    """A script-mode guest driven step by step."""

    def __init__(self, name, args):
        self.proc, self.con, m = boot_until(name, piped(args),
                                            rb"BHYVE-GUEST-SCRIPT")
        self.up = m is not None

    def run(self, cmd, marker, timeout=120):
        """Send cmd; return the text before `marker` (or None)."""
        self.proc.stdin.write(cmd.encode() + b"\n")
        self.proc.stdin.flush()
        m = self.con.expect(rb"(?s)(.*?)" + marker.encode(), timeout)
        return m.group(1).decode(errors="replace") if m else None

    def finish(self):
        try:
            self.proc.stdin.write(b"reboot -f\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        while self.con.pump(1.0):
            pass
        return wait_exit(self.proc, 60)


DHCP_SCRIPT = r"""mkdir -p /www; echo guest-page-42 >/www/index.html
cat >/tmp/dhcp.sh <<'EOF'
#!/bin/sh
case $1 in bound|renew)
	ifconfig $interface $ip netmask $subnet up
	[ -n "$router" ] && route add default gw $router ;;
esac
EOF
chmod 755 /tmp/dhcp.sh; echo DHCP-SCRIPT-READY"""


def check_slirp():
    mac = "02:00:00:be:ef:01"
    www = os.path.join(LOGDIR, "www2")
    os.makedirs(www, exist_ok=True)
    open(os.path.join(www, "hello.txt"), "w").write("host-page-77\n")
    srv = serve_dir(www, "127.0.0.1", 8001)
    args = bhyve_args(
        "-s", "4,virtio-net,slirp,open=true,mac=%s,"
        "hostfwd=tcp:127.0.0.1:2280-:80;udp:127.0.0.1:2253-:53" % mac,
        mem="512M", name=VMNAME,
        cmdline="console=ttyS0 bhyvetest=script " + MODS)
    t0 = time.time()
    s = Session("net-slirp", args)
    report("net-slirp-boots", s.up, "no script marker")
    out = s.run("echo THEMAC=$(cat /sys/class/net/eth0/address); "
                "echo FEAT=$(cat /sys/bus/virtio/devices/virtio*/features); "
                "echo END1", "END1")
    report("net-mac-option", out is not None and ("THEMAC=" + mac) in out,
           "guest said %r" % out)
    feat = field(out or "", "FEAT") or ""
    report("net-slirp-features", len(feat) > 16 and feat[5] == "1" and
           feat[15] == "1" and feat[16] == "1" and
           feat[0] + feat[1] + feat[7] + feat[11] == "0000",
           "features %s" % feat)
    s.run(DHCP_SCRIPT, "DHCP-SCRIPT-READY")
    out = s.run("ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 "
                "-s /tmp/dhcp.sh >/dev/null 2>&1; echo DHCP=$?; "
                "ip -4 addr show eth0; echo END2", "END2", 180)
    report("net-slirp-dhcp", out is not None and "DHCP=0" in out and
           "inet 10.0.2.15/24" in out, "guest said %r" % out)
    out = s.run("wget -q -O - http://10.0.2.2:8001/hello.txt; echo END3",
                "END3", 120)
    report("net-slirp-reaches-host", out is not None and
           "host-page-77" in out, "guest said %r" % out)
    out = s.run("httpd -p 80 -h /www; echo HTTPD-UP", "HTTPD-UP")
    page = None
    for _ in range(20):
        try:
            page = urllib.request.urlopen("http://127.0.0.1:2280/index.html",
                                          timeout=20).read().decode()
            break
        except OSError as e:
            page = "error: %s" % e
            time.sleep(1)
    report("net-slirp-hostfwd", page is not None and "guest-page-42" in page,
           "host got %r" % page)
    # The device and libslirp run on the device's own I/O thread (named
    # after its slot), not on the main loop.
    th = threads(s.proc.pid)
    report("net-io-thread", "vio 4:0" in th, "threads: %s" % sorted(th))
    rc = s.finish()
    srv.shutdown()
    print("  (net-slirp: %.1f s)" % (time.time() - t0), flush=True)
    report("net-slirp-reboot-0", rc == 0, "exit status %s" % rc)


def check_slirp_restricted():
    """Without open=true the guest stays inside the virtual network (as in
    bhyve): DHCP works, the host's services do not answer."""
    www = os.path.join(LOGDIR, "www3")
    os.makedirs(www, exist_ok=True)
    open(os.path.join(www, "hello.txt"), "w").write("host-page-78\n")
    srv = serve_dir(www, "127.0.0.1", 8002)
    script = DHCP_SCRIPT + (
        "\nip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 "
        "-s /tmp/dhcp.sh >/dev/null 2>&1; echo DHCP=$?\n"
        "timeout 15 wget -q -O - http://10.0.2.2:8002/hello.txt; "
        "echo WGET=$?\nreboot -f\n")
    rc, out = run_script_boot("net-slirp-restricted", bhyve_args(
        "-s", "5,virtio-net,slirp", mem="512M", name=VMNAME,
        cmdline="console=ttyS0 bhyvetest=script " + MODS), script)
    srv.shutdown()
    report("net-slirp-restricted-dhcp", field(out, "DHCP") == "0",
           "udhcpc status %s" % field(out, "DHCP"))
    report("net-slirp-restricted-no-host", field(out, "WGET") not in
           (None, "0") and "host-page-78" not in out,
           "wget status %s" % field(out, "WGET"))


if __name__ == "__main__":
    plan(23)
    check_tap()
    check_tap_legacy()
    check_slirp()
    check_slirp_restricted()
    finish()

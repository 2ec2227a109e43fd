#!/usr/bin/env python3
"""e2e group "console": virtio-console with two named ports on Unix
sockets, the stock Debian kernel's virtio_console driver: the ports'
names in the guest, data both ways through a client on the test host,
the host side's disconnect seen by the guest, reconnecting, one peer at a
time, and the socket files removed when bhyve exits.

The guest has no udev: /dev/virtio-ports/NAME is made the way udev's rule
does it (a link to the vportNpM device named by /sys/.../name), so the
names come from the device's PORT_NAME messages."""

import os
import signal
import socket
import subprocess
import tempfile
import time

from vmlib import *  # noqa: F401,F403


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(timeout)
    return s


def recv_until(s, token, timeout=30):
    """Read from the client socket until `token` (bytes) arrives."""
    data = b""
    end = time.time() + timeout
    while token not in data and time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed_by_peer(s, timeout=10):
    s.settimeout(timeout)
    try:
        return s.recv(16) == b""
    except OSError:
        return True


def check_console():
    d = tempfile.mkdtemp(prefix="vtcon-")
    pa, pb = os.path.join(d, "alpha.sock"), os.path.join(d, "beta.sock")
    args = bhyve_args("-s", "4,virtio-console,alpha=%s,beta=%s" % (pa, pb),
                      cmdline="console=ttyS0 bhyvetest=shell "
                      "bhyvemods=virtio_pci,virtio_console")
    tty = {}
    proc, con, up = boot_until("console", on_pty(args, tty),
                               rb"BHYVE-GUEST-SHELL")
    master, slave = tty["master"], tty["slave"]
    # bhyve listens before the guest runs: the files exist by now.
    report("socket-files-created", os.path.exists(pa) and os.path.exists(pb),
           "no %s or %s" % (pa, pb))
    report("guest-boots-with-console", up is not None, "no shell marker")
    if up is None:
        kill_with_dump(proc, con)
        return
    time.sleep(0.5)

    def sh(cmd, pattern, timeout=60):
        con.send(cmd + "\r")
        return con.expect(pattern, timeout)

    # What udev's rule does: /dev/virtio-ports/NAME -> ../vportNpM
    m = sh("mkdir -p /dev/virtio-ports; for p in /sys/class/virtio-ports/vport*;"
           " do ln -sf ../${p##*/} /dev/virtio-ports/$(cat $p/name); done;"
           " echo PORTS-$((1+1)) $(ls /dev/virtio-ports) END",
           rb"PORTS-2 ([^\r\n]*) END")
    names = m.group(1).decode().split() if m else []
    report("ports-named-in-guest", sorted(names) == ["alpha", "beta"],
           "ports: %s" % names)

    # Guest -> host.  (A peer is connected first: Linux's driver holds
    # writes while the host side is closed.)
    a = connect(pa)
    time.sleep(1)
    sh("echo guest-says-$((6*7)) > /dev/virtio-ports/alpha; echo W-$((1+2))",
       rb"W-3")
    got = recv_until(a, b"guest-says-42")
    report("guest-to-host", b"guest-says-42" in got, "client got %r" % got)

    # Host -> guest, sent before a guest process has the port open: held
    # until then, not lost.
    a.sendall(b"host-says-hello\n")
    time.sleep(1)
    m = sh("timeout 20 head -n1 /dev/virtio-ports/alpha; echo R-$((2+2))",
           rb"host-says-hello\r?\nR-4")
    report("host-to-guest", m is not None, "guest did not read the line")

    # One peer at a time: a second client is closed at once.
    a2 = connect(pa)
    report("second-peer-refused", closed_by_peer(a2), "second peer served")
    a2.close()

    # The client leaves: the guest's reader sees end-of-file (PORT_OPEN 0).
    a.close()
    time.sleep(1)
    t0 = time.time()
    m = sh("timeout 20 cat /dev/virtio-ports/alpha; echo EOF-$((3+4))",
           rb"EOF-7", 40)
    report("host-disconnect-seen", m is not None and time.time() - t0 < 15,
           "cat did not end (%.1f s)" % (time.time() - t0))

    # Reconnect: data flows both ways again.
    a = connect(pa)
    time.sleep(1)
    sh("echo again-$((8*8)) > /dev/virtio-ports/alpha; echo W-$((2+3))",
       rb"W-5")
    got = recv_until(a, b"again-64")
    report("reconnect-guest-to-host", b"again-64" in got, "client got %r" % got)
    a.sendall(b"back-again\n")
    m = sh("timeout 20 head -n1 /dev/virtio-ports/alpha; echo R-$((3+3))",
           rb"back-again\r?\nR-6")
    report("reconnect-host-to-guest", m is not None, "guest did not read")

    # The second port is its own channel.
    b = connect(pb)
    time.sleep(1)
    sh("echo beta-$((5*5)) > /dev/virtio-ports/beta; echo W-$((4+4))", rb"W-8")
    got = recv_until(b, b"beta-25")
    report("second-port", b"beta-25" in got, "client got %r" % got)

    # A peer that does not read: the guest's writer waits (bounded
    # buffering), the VM stays responsive, and every byte arrives once the
    # peer reads.
    n = 4 * 1024 * 1024  # more than the guest queue and both buffers hold
    sh("yes xxxxxxx | head -c %d > /dev/virtio-ports/beta & echo BG-$((1+8))"
       % n, rb"BG-9")
    time.sleep(5)
    m = sh("echo alive-$((7*7)) writers=$(pidof head | wc -w) END",
           rb"alive-49 writers=(\d+) END", 30)
    report("stalled-peer-writer-waits-vm-responsive",
           m is not None and m.group(1) == b"1",
           "no answer" if m is None else
           "writer not waiting (%s running)" % m.group(1).decode())
    got = 0
    b.settimeout(30)
    while got < n:
        try:
            chunk = b.recv(65536)
        except socket.timeout:
            break
        if not chunk or chunk.strip(b"x\n"):
            break
        got += len(chunk)
    report("stalled-peer-gets-all", got == n, "got %d of %d bytes" % (got, n))

    con.send("reboot -f\r")
    rc = wait_exit(proc, 120)
    while con.pump(0.2):
        pass
    report("reboot-exit-status-0", rc == 0, "exit status %s" % rc)
    report("socket-files-removed",
           not os.path.exists(pa) and not os.path.exists(pb),
           "left: %s" % os.listdir(d))
    for s in (a, b):
        s.close()
    os.close(master)
    os.close(slave)


def check_cleanup_on_signals():
    """The socket files go on every exit: SIGINT (through the event loop)
    and a fatal signal (the crash handler); no guest needed."""
    for sig, name in ((signal.SIGINT, "sigint"), (signal.SIGSEGV, "fatal-signal")):
        d = tempfile.mkdtemp(prefix="vtcon-sig-")
        p = os.path.join(d, "c.sock")
        args = bhyve_args("-s", "4,virtio-console,c=%s" % p,
                          cmdline="console=ttyS0 bhyvetest=shell")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        end = time.time() + 20
        while time.time() < end and not os.path.exists(p):
            time.sleep(0.05)
        existed = os.path.exists(p)
        proc.send_signal(sig)
        rc = wait_exit(proc, 30)
        report("socket-removed-on-" + name, existed and not os.path.exists(p),
               "existed=%s, exists after exit (status %s)=%s"
               % (existed, rc, os.path.exists(p)))


if __name__ == "__main__":
    plan(16)
    check_console()
    check_cleanup_on_signals()
    finish()

#!/usr/bin/env python3
"""e2e group "blk": virtio-blk on the stock Debian kernel inside the nested
test host.  Data the host writes is what the guest reads and the reverse,
requests in flight together, discard punches holes in a sparse image, a
flushed write survives SIGKILL of bhyve, the serial number, and a
read-only disk with 4 KiB sectors whose image never changes.  The main
image is on the test host's tmpfs (bhyve serves it on the I/O thread at
once); a second one lives on the run directory's 9p share, whose requests
go through io_uring, so both data paths carry guest traffic.
"""

import hashlib
import os
import re
import time

from vmlib import *  # noqa: F401,F403

MODS = "bhyvemods=virtio_pci,virtio_blk"
MIB = 1 << 20


class Guest:
    """A guest in bhyvetest=script mode, driven one command at a time."""

    def __init__(self, name, *extra):
        args = bhyve_args(*extra, cmdline="console=ttyS0 bhyvetest=script "
                          + MODS)
        self.t0 = time.time()
        self.proc, self.con, m = boot_until(name, piped(args))
        self.up = m is not None
        self.n = 0
        print("  (%s: up=%s after %.1f s%s)" % (
            name, self.up, time.time() - self.t0,
            "" if self.up else ", bhyve status %s" % self.proc.poll()),
            flush=True)

    def run(self, cmd, timeout=120):
        """Run a shell command in the guest: (status, output) or (None, '')."""
        if not self.up or self.proc.poll() is not None:
            return None, ""
        self.n += 1
        b, e = "@@B%d" % self.n, "@@E%d" % self.n
        self.proc.stdin.write(("echo %s; { %s ; } 2>&1; echo %s rc=$?\n"
                               % (b, cmd, e)).encode())
        self.proc.stdin.flush()
        m = self.con.expect((r"(?s)%s\r?\n(.*?)%s rc=(\d+)" % (b, e)).encode(),
                            timeout)
        if m is None:
            return None, ""
        return int(m.group(2)), m.group(1).decode(errors="replace").replace(
            "\r", "")

    def value(self, cmd, timeout=120):
        rc, out = self.run(cmd, timeout)
        return out.strip() if rc == 0 else None

    def exit(self, timeout=120):
        if self.up and self.proc.poll() is None:
            self.proc.stdin.write(b"exit\n")
            self.proc.stdin.flush()
        rc = wait_exit(self.proc, timeout)
        while self.con.pump(0.2):
            pass
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def pattern(seed, size):
    out = bytearray()
    h = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:size])


def read_at(path, off, size):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(size)


def md5(b):
    return hashlib.md5(b).hexdigest()


def allocated(path):
    return os.stat(path).st_blocks * 512


def check_rw():
    img = "/tmp/blk-rw.img"
    host = pattern("host", 64 * 1024)
    with open(img, "wb") as f:
        f.truncate(64 * MIB)		# sparse
        f.seek(1 * MIB)
        f.write(host)
    slow = os.path.join(LOGDIR, "blk-9p.img")	# not in memory: io_uring
    with open(slow, "wb") as f:
        f.truncate(8 * MIB)
    g = Guest("blk-rw", "-s", "4,virtio-blk,%s,ser=BLKTEST123" % img,
              "-s", "5,virtio-blk,%s" % slow)
    report("blk-rw-boots", g.up, "no script marker")
    out = g.value("lspci -n") or ""
    report("blk-pci-id", re.search(r"00:04\.0 0100: 1af4:1001", out)
           is not None, out)
    v = g.value("cat /sys/block/vda/size")
    report("blk-capacity", v == str(64 * MIB // 512), "size %s" % v)
    v = g.value("cat /sys/block/vda/serial")
    report("blk-serial", v == "BLKTEST123", "serial %r" % v)
    v = g.value("dd if=/dev/vda bs=4096 skip=256 count=16 iflag=direct "
                "2>/dev/null | md5sum")
    report("blk-host-to-guest", v is not None and v.split()[0] == md5(host),
           "guest md5 %s, host %s" % (v, md5(host)))

    # the guest writes 1 MiB at 2 MiB with O_DIRECT, then sync
    v = g.value("dd if=/dev/urandom of=/tmp/p bs=64k count=16 2>/dev/null; "
                "dd if=/tmp/p of=/dev/vda bs=64k seek=32 oflag=direct "
                "2>/dev/null && sync && md5sum </tmp/p")
    got = md5(read_at(img, 2 * MIB, MIB))
    report("blk-guest-to-host", v is not None and v.split()[0] == got,
           "guest md5 %s, file %s" % (v, got))

    # four writers and four readers in flight together
    v = g.value("for i in 0 1 2 3; do dd if=/dev/urandom of=/tmp/q$i bs=64k "
                "count=8 2>/dev/null; done; "
                "for i in 0 1 2 3; do dd if=/tmp/q$i of=/dev/vda bs=64k "
                "seek=$((64 + i * 8)) oflag=direct 2>/dev/null & done; wait; "
                "for i in 0 1 2 3; do dd if=/dev/vda bs=64k skip=$((64 + i * 8)) "
                "count=8 iflag=direct 2>/dev/null >/tmp/r$i & done; wait; "
                "for i in 0 1 2 3; do cmp /tmp/q$i /tmp/r$i || echo BAD; done; "
                "cat /tmp/q0 /tmp/q1 /tmp/q2 /tmp/q3 | md5sum")
    got = md5(read_at(img, 4 * MIB, 2 * MIB))
    report("blk-parallel-io", v is not None and "BAD" not in v and
           v.split()[-2] == got, "guest %s, file %s" % (v, got))

    # the same both ways through io_uring (the image on 9p)
    v = g.value("dd if=/dev/urandom of=/tmp/u bs=64k count=16 2>/dev/null; "
                "dd if=/tmp/u of=/dev/vdb bs=64k seek=8 oflag=direct "
                "2>/dev/null; dd if=/dev/vdb bs=64k skip=8 count=16 "
                "iflag=direct 2>/dev/null | cmp - /tmp/u && md5sum </tmp/u")
    got = md5(read_at(slow, 512 * 1024, MIB))
    report("blk-async-path-roundtrip", v is not None and
           v.split()[0] == got, "guest %s, file %s" % (v, got))
    os.unlink(slow)

    # discard: 8 MiB written, then discarded -> the host file loses blocks
    v = g.value("cat /sys/block/vda/queue/discard_max_bytes")
    report("blk-discard-advertised", v is not None and v.isdigit() and
           int(v) > 0, "discard_max_bytes %s" % v)
    g.value("dd if=/dev/urandom of=/dev/vda bs=1M seek=16 count=8 "
            "oflag=direct 2>/dev/null; sync")
    before = allocated(img)
    rc, out = g.run("blkdiscard -o %d -l %d /dev/vda" % (16 * MIB, 8 * MIB))
    after = allocated(img)
    zero = md5(bytes(8 * MIB))
    v = g.value("dd if=/dev/vda bs=1M skip=16 count=8 iflag=direct "
                "2>/dev/null | md5sum")
    report("blk-discard-punches", rc == 0 and before - after >= 7 * MIB and
           v is not None and v.split()[0] == zero,
           "rc %s %s; allocated %d -> %d; md5 %s" % (rc, out.strip(), before,
                                                     after, v))

    # buffered write + sync, then SIGKILL: the file has the data
    v = g.value("dd if=/dev/urandom of=/tmp/s bs=64k count=16 2>/dev/null; "
                "dd if=/tmp/s of=/dev/vda bs=64k seek=512 2>/dev/null; sync; "
                "md5sum </tmp/s")
    g.kill()
    got = md5(read_at(img, 32 * MIB, MIB))
    report("blk-flush-survives-sigkill", v is not None and v.split()[0] == got,
           "guest md5 %s, file %s" % (v, got))
    os.unlink(img)


def check_ro():
    img = "/tmp/blk-ro.img"
    data = pattern("ro", 4 * MIB)
    with open(img, "wb") as f:
        f.write(data)
    before = md5(read_at(img, 0, 4 * MIB))
    # Without the I/O thread's watch of the emptied queue (on by default,
    # so the rw boot above has it): the reads below, one of them four
    # at once, get one interrupt per pass.
    g = Guest("blk-ro", "-s", "4,virtio-blk,%s,ro,sectorsize=4096" % img,
              "-o", "virtio.poll_us=0")
    report("blk-ro-boots", g.up, "no script marker")
    v = g.value("cat /sys/block/vda/ro")
    report("blk-ro-sysfs", v == "1", "ro %s" % v)
    rc, out = g.run("dd if=/dev/zero of=/dev/vda bs=4096 count=1 "
                    "oflag=direct")
    report("blk-ro-write-fails", rc is not None and rc != 0,
           "dd status %s: %s" % (rc, out.strip()))
    v = g.value("cat /sys/block/vda/queue/logical_block_size")
    report("blk-sectorsize-4096", v == "4096", "logical_block_size %s" % v)
    want = "BHYVE-" + "%02X%02X-%02X%02X-%02X%02X" % tuple(
        hashlib.md5(img.encode()).digest()[:6])
    v = g.value("cat /sys/block/vda/serial")
    report("blk-default-serial", v == want, "serial %r, expected %r"
           % (v, want))
    v = g.value("dd if=/dev/vda bs=1M count=4 2>/dev/null | md5sum")
    report("blk-ro-reads", v is not None and v.split()[0] == before,
           "guest md5 %s, file %s" % (v, before))
    v = g.value("for i in 0 1 2 3; do dd if=/dev/vda bs=4k skip=$((i * 256)) "
                "count=256 iflag=direct 2>/dev/null | md5sum >/tmp/m$i & "
                "done; wait; cat /tmp/m0 /tmp/m1 /tmp/m2 /tmp/m3")
    want = [md5(read_at(img, i * MIB, MIB)) for i in range(4)]
    got = v.split()[::2] if v else []
    report("blk-ro-parallel-reads", got == want,
           "guest %s, file %s" % (got, want))
    rc = g.exit()
    report("blk-ro-reboot-0", rc == 0, "exit status %s" % rc)
    report("blk-ro-file-unchanged", md5(read_at(img, 0, 4 * MIB)) == before,
           "image changed")
    os.unlink(img)


if __name__ == "__main__":
    plan(20)
    check_rw()
    check_ro()
    finish()

#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/pci_fuzz.c: what a driver does first, so that
a short run starts from devices that decode their BARs and have running
queues: the modern virtio set-up of each virtio device (with a request on
its first queue and a notification), the legacy one through the I/O BAR,
and MSI-X table entries.

    pci_seeds.py DIR    writes the seeds into DIR
"""
import os
import struct
import sys

# devices as pci_fuzz.c numbers them (slots 0, 3, 4, 5, 6)
RND, BLK, NET, CONSOLE = 1, 2, 3, 4
SIZE = {1: 0, 2: 1, 4: 2, 8: 3}
BAR_LEGACY, BAR_MSIX, BAR_MODERN = 0, 1, 4


def op(kind, dev, off, w, payload=b""):
    return bytes([kind, dev]) + struct.pack("<HB", off, w) + payload


def cfg_write(dev, off, size, value):
    return op(0, dev, off, SIZE[size], struct.pack("<I", value))


def mem_write(dev, bar, off, size, value):
    return op(2, dev, off, bar << 2 | SIZE[size], struct.pack("<Q", value))


def io_write(dev, off, size, value):
    return op(4, dev, off, BAR_LEGACY << 2 | SIZE[size],
              struct.pack("<I", value))


def ram_write(gpa, value):
    return op(6, 0, gpa >> 4, 0, struct.pack("<Q", value))


def ring(base):
    """A one-descriptor chain at base: a 512-byte writable buffer, offered
    in the avail ring at base + 0x1000."""
    return (ram_write(base, base + 0x4000)
            + ram_write(base + 8, 512 | 2 << 32)     # len, F_WRITE
            + ram_write(base + 0x1000, 1 << 16))     # flags 0, idx 1, [0]


def modern(dev, base):
    def common(off, size, value):
        return mem_write(dev, BAR_MODERN, off, size, value)
    return (cfg_write(dev, 0x04, 2, 0x7)             # I/O, memory, master
            + common(0x14, 1, 0) + common(0x14, 1, 3)
            + common(0x08, 4, 1) + common(0x0c, 4, 1)  # VERSION_1
            + common(0x08, 4, 0) + common(0x0c, 4, 3 << 28)
            + common(0x14, 1, 0xb)
            + common(0x10, 2, 0)                     # config vector
            + common(0x16, 2, 0) + common(0x18, 2, 16)
            + common(0x1a, 2, 1)
            + common(0x20, 8, base) + common(0x28, 8, base + 0x1000)
            + common(0x30, 8, base + 0x2000) + common(0x1c, 2, 1)
            + ring(base)
            + common(0x14, 1, 0xf)
            + mem_write(dev, BAR_MODERN, 0x3000, 2, 0))  # notify queue 0


def legacy(dev, base):
    return (cfg_write(dev, 0x04, 2, 0x7)
            + io_write(dev, 0x12, 1, 0) + io_write(dev, 0x12, 1, 3)
            + io_write(dev, 0x04, 4, 1 << 28)
            + io_write(dev, 0x0e, 2, 0)
            + ring(base)
            + io_write(dev, 0x08, 4, base >> 12)
            + io_write(dev, 0x12, 1, 7)
            + io_write(dev, 0x10, 2, 0))


def msix(dev):
    t = b""
    for i in range(3):
        t += (mem_write(dev, BAR_MSIX, 16 * i, 8, 0xfee00000)
              + mem_write(dev, BAR_MSIX, 16 * i + 8, 4, 0x30 + i)
              + mem_write(dev, BAR_MSIX, 16 * i + 12, 4, 0))
    return cfg_write(dev, 0x04, 2, 0x7) + t


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for name, dev in (("rnd", RND), ("blk", BLK), ("net", NET),
                      ("console", CONSOLE)):
        seeds["modern-" + name] = bytes([0]) + modern(dev, 0x10000)
        seeds["legacy-" + name] = bytes([0]) + legacy(dev, 0x20000)
        seeds["msix-" + name] = bytes([0]) + msix(dev) + modern(dev, 0x10000)
    seeds["msi-blk"] = bytes([1]) + modern(BLK, 0x10000)     # -W
    seeds["pio-notify-net"] = bytes([2]) + modern(NET, 0x10000)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

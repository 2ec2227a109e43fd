#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/dev_fuzz.c: one well-formed request of each
kind, in its input format, so that a short run starts from requests the
devices carry out and mutates from there (exact lengths such as 512 * k + 1
are slow to find from nothing).

    dev_seeds.py DIR    writes the seeds into DIR
"""
import os
import struct
import sys

BLK, TX, RX, CONSOLE = 0, 1, 2, 3
F_INDIRECT, F_EVENT_IDX, F_RO, F_DISCARD = 1, 2, 4, 8
F_WZEROES, F_MERGEABLE, F_WITH_HDR, F_HDR12 = 16, 32, 64, 128
D_NEXT, D_WRITE = 1, 2


def seed(mode, flags, qexp, descs, data, capacity=64, lens=(), hdr=b""):
    """descs: (data offset, length, flags, next); the avail ring offers
    the heads of the chains they form, in order."""
    prm = struct.pack("<H", capacity)
    prm += struct.pack("<8H", *(list(lens) + [0] * (8 - len(lens))))
    prm += hdr.ljust(12, b"\0")
    qs = 1 << qexp
    nexts = {d[3] for d in descs if d[2] & D_NEXT}
    heads = [i for i in range(len(descs)) if i not in nexts]
    avail = struct.pack("<HH", 0, len(heads))
    avail += struct.pack("<%dH" % qs, *(heads + [0] * (qs - len(heads))))
    table = b"".join(struct.pack("<HHBB", *d) for d in descs)
    table += b"\0" * (6 * (qs - len(descs)))
    return bytes([mode, flags, qexp]) + prm + avail + table + data


def blk_hdr(kind, sector=0):
    return struct.pack("<IIQ", kind, 0, sector)


def seeds():
    s = {}
    # read 2 sectors at sector 2: header, data, status
    s["blk-read"] = seed(BLK, 0, 2, [(0, 16, D_NEXT, 1),
                                     (0x1000, 1024, D_WRITE | D_NEXT, 2),
                                     (0x2000, 1, D_WRITE, 0)],
                         blk_hdr(0, 2))
    # write 2 sectors, the data after the header
    s["blk-write"] = seed(BLK, 0, 2, [(0, 16, D_NEXT, 1),
                                      (0x100, 1024, D_NEXT, 2),
                                      (0x2000, 1, D_WRITE, 0)],
                          blk_hdr(1, 4))
    s["blk-flush"] = seed(BLK, 0, 1, [(0, 16, D_NEXT, 1),
                                      (0x2000, 1, D_WRITE, 0)], blk_hdr(4))
    s["blk-getid"] = seed(BLK, 0, 2, [(0, 16, D_NEXT, 1),
                                      (0x1000, 20, D_WRITE | D_NEXT, 2),
                                      (0x2000, 1, D_WRITE, 0)], blk_hdr(8))
    # discard and write-zeroes: one segment (sector, count, flags)
    seg = struct.pack("<QII", 8, 8, 0)
    for name, kind in (("blk-discard", 11), ("blk-wzeroes", 13)):
        s[name] = seed(BLK, F_DISCARD | F_WZEROES, 2,
                       [(0, 16, D_NEXT, 1), (0x100, 16, D_NEXT, 2),
                        (0x2000, 1, D_WRITE, 0)],
                       blk_hdr(kind) + b"\0" * (0x100 - 16) + seg)
    # transmit: a 10-byte header and a 60-byte frame, in one descriptor
    # and split in two
    s["net-tx"] = seed(TX, 0, 2, [(0, 70, 0, 0), (0x100, 10, D_NEXT, 2),
                                  (0x200, 60, 0, 0)], b"")
    # receive: two frames into four 2 KiB buffers, mergeable, a tap's
    # header carried
    s["net-rx"] = seed(RX, F_MERGEABLE | F_WITH_HDR | F_HDR12, 3,
                       [(0x800 * i, 2048, D_WRITE, 0) for i in range(4)],
                       b"", lens=(72, 1512))
    # receive without mergeable buffers (one chain per frame)
    s["net-rx-big"] = seed(RX, 0, 2, [(0, 10, D_WRITE | D_NEXT, 1),
                                      (0x100, 4096, D_WRITE, 0)],
                           b"", lens=(1510,))
    # console (steps: 0 a message, 0x89 a peer on port 1, 3 hand over, 4
    # reset): DEVICE_READY 1, PORT_READY 1 for port 1, a peer on port 1,
    # PORT_OPEN 1 from the guest, the messages handed over, a reset
    def msg(port, event, value):
        return bytes([0, 8]) + struct.pack("<IHH", port, event, value)
    s["console"] = (bytes([CONSOLE, 0x83]) + msg(0, 0, 1) + msg(1, 3, 1)
                    + bytes([0x89]) + msg(1, 6, 1) + bytes([3, 4]))
    return s


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

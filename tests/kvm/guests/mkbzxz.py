#!/usr/bin/env python3
"""Make a bzImage whose payload is a compressed ELF kernel: the setup
header and 32-bit code of bzimage.bin, then the payload, with the header's
payload_offset/payload_length/init_size set.  usage: mkbzxz.py BZ PAYLOAD
ELF_SIZE OUT [corrupt]"""
import struct
import sys

bz = bytearray(open(sys.argv[1], "rb").read())
payload = open(sys.argv[2], "rb").read() + struct.pack("<I", int(sys.argv[3]))
if len(sys.argv) > 5:
    payload = bytearray(payload)
    for i in range(40, min(len(payload) - 8, 400), 7):
        payload[i] ^= 0x5a
setup = (bz[0x1f1] + 1) * 512
pm_len = len(bz) - setup
struct.pack_into("<II", bz, 0x248, pm_len, len(payload))
struct.pack_into("<I", bz, 0x260, 0x400000)      # init_size: 4 MiB
open(sys.argv[4], "wb").write(bytes(bz) + bytes(payload))

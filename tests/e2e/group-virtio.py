#!/usr/bin/env python3
"""e2e group "virtio": virtio-rnd on the transitional virtio PCI transport
with the stock kernel: PCI ids, the hw_random core picking it, reads that
need its interrupt, delivered by MSI-X (default), with -W (no MSI-X: Linux's
virtio_pci then uses INTx, as it does not use plain MSI), with pci=nomsi
(INTx), and through the legacy interface (virtio_pci.force_legacy=1); a
function-level reset (Advanced Features capability) from the guest.  With
-o virtio.pio_notify=true (the MSI-X boot) the modern driver notifies
through the I/O port the first notification capability names (it requests
I/O BAR 0 as "virtio-pci-modern"); by default (the -W boot) it does not.
"""

import os
import re

from vmlib import *  # noqa: F401,F403

MODS = "bhyvemods=virtio_pci,virtio_rng"
SCRIPT = ("lspci -n; echo RNG=$(cat /sys/class/misc/hw_random/rng_current);"
          " echo BYTES=$(dd if=/dev/hwrng bs=64 count=4 2>/dev/null | wc -c);"
          " echo BYTES2=$(dd if=/dev/hwrng bs=4096 count=16 2>/dev/null | wc -c);"
          " echo FEAT=$(cat /sys/bus/virtio/devices/virtio0/features);"
          " echo MSIMODE=$(cat /sys/bus/pci/devices/0000:00:04.0/msi_irqs/*"
          " 2>/dev/null | sort -u);"
          " grep virtio /proc/interrupts; grep -o 'virtio-pci-.*' /proc/ioports;"
          " %secho END-OF-CHECKS; exit\n")
# A function-level reset through the Advanced Features capability (the
# only reset method Linux finds for a device on the root bus), then the
# driver again: the device works after it.
D = "/sys/bus/pci/devices/0000:00:04.0"
FLR = ("echo RM=$(cat %s/reset_method);"
       " echo 0000:00:04.0 > /sys/bus/pci/drivers/virtio-pci/unbind;"
       " echo 1 > %s/reset && echo FLR-WRITE-OK;"
       " echo 0000:00:04.0 > /sys/bus/pci/drivers/virtio-pci/bind;"
       " sleep 1; echo BYTES3=$(dd if=/dev/hwrng bs=64 count=4 2>/dev/null"
       " | wc -c); " % (D, D))


def irq_lines(out):
    """[(count, text)] of the /proc/interrupts lines naming virtio0."""
    res = []
    for line in out.splitlines():
        if "virtio0" in line:
            cnt = 0
            for n in line.split(":", 1)[-1].split():
                if n.isdigit():
                    cnt += int(n)
                else:
                    break
            res.append((cnt, line.strip()))
    return res


def boot(name, extra=(), cmdline="", trace=False, more=""):
    if trace:
        os.environ["BHYVE_TRACE"] = "1"
    try:
        rc, out = run_script_boot(name, bhyve_args(
            "-s", "4,virtio-rnd", *extra,
            cmdline="console=ttyS0 bhyvetest=script " + MODS + " " + cmdline),
            SCRIPT % more)
    finally:
        os.environ.pop("BHYVE_TRACE", None)
    return rc, out


def check_ioeventfd(name, out):
    """BHYVE_TRACE's count at teardown: almost every queue notification
    reached the device through the ioeventfd, without a vCPU exit."""
    m = re.search(r"(\d+) queue notifications, (\d+) through vCPU exits",
                  out)
    ok = m is not None and int(m.group(1)) >= 100 and \
        int(m.group(2)) * 20 <= int(m.group(1))
    report(name + "-notify-without-exits", ok,
           m.group(0) if m else "no notification count")


def common(name, rc, out):
    m = re.search(r"BYTES=(\d+)", out)
    report(name + "-hwrng-read", m is not None and m.group(1) == "256",
           "dd read %s bytes" % (m.group(1) if m else "no"))
    m = re.search(r"BYTES2=(\d+)", out)
    report(name + "-hwrng-read-64k", m is not None and m.group(1) == "65536",
           "dd read %s bytes" % (m.group(1) if m else "no"))
    report(name + "-reboot-0", rc == 0 and "END-OF-CHECKS" in out,
           "exit status %s" % rc)


def feat_bit(out, bit):
    m = re.search(r"FEAT=([01]+)", out)
    if m is None or len(m.group(1)) <= bit:
        return None
    return m.group(1)[bit]


def check_msix():
    rc, out = boot("virtio-msix", extra=("-o", "virtio.pio_notify=true"),
                   trace=True, more=FLR)
    report("msix-lspci-1af4-1005", re.search(r"00:04\.0 .*1af4:1005", out)
           is not None, "no 1af4:1005 in lspci")
    m = re.search(r"RNG=(\S*)", out)
    report("msix-rng-current-virtio", m is not None and
           m.group(1).startswith("virtio"),
           "rng_current %s" % (m.group(1) if m else "missing"))
    common("msix", rc, out)
    lines = irq_lines(out)
    m = re.search(r"MSIMODE=(\S*)", out)
    # Linux 6.1 names both "PCI-MSI" in /proc/interrupts; the mode is in
    # sysfs, and per-queue vectors (virtio0-input) exist only with MSI-X.
    ok = m is not None and m.group(1) == "msix" and any(
        "PCI-MSI" in t and "virtio0-input" in t and c > 0 for c, t in lines)
    report("msix-interrupts", ok, "mode %s, virtio0 lines: %s" % (
        m.group(1) if m else "?", lines))
    report("msix-modern-interface", feat_bit(out, 32) == "1",
           "VERSION_1 not negotiated: %s" % feat_bit(out, 32))
    check_ioeventfd("msix", out)
    report("msix-notify-through-port", re.search(
        r"^virtio-pci-modern\r?$", out, re.M) is not None,
        "no I/O region of virtio-pci-modern in /proc/ioports")
    m = re.search(r"RM=(\S*)", out)
    report("flr-reset-method", m is not None and m.group(1) == "af_flr",
           "reset_method %s" % (m.group(1) if m else "missing"))
    m = re.search(r"BYTES3=(\d+)", out)
    ok = "FLR-WRITE-OK" in out and \
        re.search(r"virtio-rnd: function-level reset", out) is not None \
        and m is not None and m.group(1) == "256"
    report("flr-device-works-after", ok, "write ok %s, bhyve saw it %s, "
           "read after %s" % ("FLR-WRITE-OK" in out,
                              "function-level reset" in out,
                              m.group(1) if m else "nothing"))


def check_no_msix():
    rc, out = boot("virtio-W", extra=("-W",))
    common("msi", rc, out)
    lines = irq_lines(out)
    m = re.search(r"MSIMODE=(\S*)", out)
    ok = lines and all("MSI" not in t for _, t in lines) \
        and any("IO-APIC" in t and c > 0 for c, t in lines) \
        and m is not None and "msix" not in m.group(1)
    report("msi-no-msix-interrupts", bool(ok), "virtio0 lines: %s" % lines)
    report("default-notify-through-memory", "END-OF-CHECKS" in out and
           re.search(r"^virtio-pci-modern\r?$", out, re.M) is None,
           "the modern driver claimed I/O BAR 0 without virtio.pio_notify"
           if "END-OF-CHECKS" in out else "no checks ran")


def check_intx():
    rc, out = boot("virtio-intx", cmdline="pci=nomsi")
    common("intx", rc, out)
    lines = irq_lines(out)
    ok = any("IO-APIC" in t and c > 0 for c, t in lines)
    report("intx-ioapic-interrupts", ok, "virtio0 lines: %s" % lines)


def check_legacy():
    rc, out = boot("virtio-legacy", cmdline="virtio_pci.force_legacy=1",
                   trace=True)
    common("legacy", rc, out)
    report("legacy-interface", feat_bit(out, 32) == "0",
           "VERSION_1 bit: %s" % feat_bit(out, 32))
    check_ioeventfd("legacy", out)


if __name__ == "__main__":
    plan(25)
    check_msix()
    check_no_msix()
    check_intx()
    check_legacy()
    finish()

#!/usr/bin/env python3
"""e2e group "acpi": the stock Debian kernel booted by bhyve with the ACPI
tables bhyve builds in process: the tables the guest finds, no ACPI or
firmware errors in its log, a device on PCI bus 1 (a second root bridge,
configuration through MCFG's ECAM), two NUMA domains (-n) with their CPUs
and memory, the FADT reset register (reboot status 0), and a boot with
-o acpi_tables=false that has no tables, where the MP table routes the
INTx of a device on bus 1.
"""

import re

from vmlib import *  # noqa: F401,F403

TABLES = ["APIC", "FACP", "FACS", "DSDT", "HPET", "MCFG", "SPCR"]
BAD = r"ACPI Error|ACPI BIOS Error|\[Firmware Bug\]|FW_BUG"


def section(out, name):
    m = re.search(r"%s-BEGIN\r?\n(.*?)%s-END" % (name, name), out, re.S)
    return m.group(1).replace("\r", "") if m else None


def check_acpi_numa():
    script = (
        "echo TABLES-BEGIN; ls /sys/firmware/acpi/tables; echo TABLES-END;"
        " echo BAD-BEGIN; dmesg | grep -E '%s'; echo BAD-END;"
        " echo DEVS-BEGIN; ls /sys/bus/acpi/devices; echo DEVS-END;"
        " echo LSPCI-BEGIN; lspci -n; echo LSPCI-END;"
        " echo NODES-BEGIN; ls /sys/devices/system/node | grep node;"
        " for n in 0 1; do echo cpus$n=$(cat /sys/devices/system/node/node$n/cpulist);"
        " grep MemTotal /sys/devices/system/node/node$n/meminfo; done;"
        " echo NODES-END;"
        " echo LOG-BEGIN; dmesg | grep -iE 'acpi|pm-timer|hpet|sci|mmconfig|ecam"
        "|firmware|numa|srat|slit|clocksource|_osc|pnp'; echo LOG-END;"
        " reboot -f\n" % BAD)
    rc, out = run_script_boot("acpi-numa", bhyve_args(
        "-s", "1:0:0,hostbridge",
        "-n", "id=0,size=512M,cpus=0", "-n", "id=1,size=512M,cpus=1",
        cpus="2", mem="1G", cmdline="console=ttyS0 bhyvetest=script"), script)
    report("acpi-boots", "BHYVE-GUEST-UP" in out, "no marker")
    tables = (section(out, "TABLES") or "").split()
    missing = [t for t in TABLES + ["SRAT", "SLIT"] if t not in tables]
    report("acpi-tables", not missing, "missing %s; found %s" % (missing, tables))
    bad = section(out, "BAD")
    report("acpi-no-errors", bad is not None and bad.strip() == "",
           "guest log: %s" % bad)
    devs = section(out, "DEVS") or ""
    want = ["PNP0A08:00", "PNP0A08:01", "PNP0501:00", "PNP0501:03",
            "PNP0B00:00", "PNP0103:00", "PNP0C02:00"]
    report("acpi-dsdt-devices", all(d in devs for d in want),
           "missing %s" % [d for d in want if d not in devs])
    lspci = section(out, "LSPCI") or ""
    report("pci-bus1-hostbridge", "01:00.0 0600: 1275:1275" in lspci, lspci)
    nodes = section(out, "NODES") or ""
    report("numa-two-nodes", re.search(r"^node0$", nodes, re.M) is not None
           and re.search(r"^node1$", nodes, re.M) is not None, nodes)
    report("numa-cpus", "cpus0=0\n" in nodes and "cpus1=1\n" in nodes, nodes)
    mem = {int(n): int(kb) for n, kb in
           re.findall(r"Node (\d) MemTotal:\s+(\d+) kB", nodes)}
    ok = (len(mem) == 2 and 300_000 < mem[0] <= 512 * 1024
          and 450_000 < mem[1] <= 512 * 1024)
    report("numa-memory", ok, "MemTotal per node (kB): %s" % mem)
    report("acpi-reset-register-reboot", rc == 0, "exit status %s" % rc)
    log = section(out, "LOG")
    if log is not None:
        print("  guest ACPI-related log:\n" + "\n".join(
            "    " + l for l in log.splitlines()), flush=True)


def check_no_acpi():
    # Without ACPI the MP table routes INTx: a virtio-rnd on PCI bus 1
    # (found by the kernel's scan of buses up to pci=lastbus) whose reads need
    # its interrupt, with MSI off (pci=nomsi).
    script = ("echo TABLES-BEGIN; ls /sys/firmware/acpi/tables 2>&1;"
              " echo TABLES-END; lspci -n | grep 01:05.0;"
              " echo RNG=$(dd if=/dev/hwrng bs=64 count=4 2>/dev/null | wc -c);"
              " grep virtio /proc/interrupts; echo IRQ-END; reboot -f\n")
    rc, out = run_script_boot("no-acpi", bhyve_args(
        "-o", "acpi_tables=false", "-s", "1:5:0,virtio-rnd",
        cmdline="console=ttyS0 bhyvetest=script pci=nomsi,lastbus=1 "
        "bhyvemods=virtio_pci,virtio_rng"), script)
    report("no-acpi-boots", "BHYVE-GUEST-UP" in out, "no marker")
    tables = section(out, "TABLES")
    report("no-acpi-no-tables", tables is not None and
           not any(t in tables.split() for t in TABLES), "found: %s" % tables)
    report("no-acpi-reboot-0", rc == 0, "exit status %s" % rc)
    m = re.search(r"RNG=(\d+)", out)
    irq = re.search(r"(?m)^\s*\d+:\s+([1-9]\d*)\s.*IO-APIC.*virtio", out)
    report("no-acpi-mptable-intx-bus1", "01:05.0" in out and m is not None
           and m.group(1) == "256" and irq is not None,
           "lspci %s, read %s, interrupts %s" % ("01:05.0" in out,
                                                 m.group(1) if m else None,
                                                 irq is not None))


if __name__ == "__main__":
    plan(13)
    check_acpi_numa()
    check_no_acpi()
    finish()

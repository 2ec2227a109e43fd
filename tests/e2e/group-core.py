#!/usr/bin/env python3
"""e2e group "core": the stock Debian kernel booted by bhyve inside the
nested test host: interactive shell, SMP, lspci, COM ports, RTC, reboot,
terminal restore, PVH vmlinux above 4 GiB, a pty backend, pinning, SIGTERM.
"""

import os
import re
import signal
import subprocess
import termios
import time

from vmlib import *  # noqa: F401,F403


def check_boot_shell():
    """The issue's command line (with host-side decompression of the
    bzImage), interactively: a pty is the terminal; what
    the user types reaches the guest; raw mode while running; the terminal
    is restored; guest reboot ends bhyve with status 0."""
    args = bhyve_args("-o", "boot.decompress=true", cpus="2", mem="512M",
                      cmdline="console=ttyS0 bhyvetest=shell")
    t0 = time.time()
    tty = {}
    proc, con, up = boot_until("boot-shell", on_pty(args, tty),
                               rb"BHYVE-GUEST-UP uname=(\S+) cpus=(\d+) ")
    master, slave, before = tty["master"], tty["slave"], tty["before"]
    report("stock-kernel-boots", up is not None, "no BHYVE-GUEST-UP marker")
    if up is None:
        kill_with_dump(proc, con)
        return
    print("  (guest up after %.1f s)" % (time.time() - t0), flush=True)
    report("smp-2-vcpus", up.group(2) == b"2",
           "guest sees %s CPUs" % up.group(2).decode())
    th = threads(proc.pid)
    report("vcpu-threads-named", "vcpu 0" in th and "vcpu 1" in th,
           "threads: %s" % sorted(th))
    raw = termios.tcgetattr(slave)
    report("terminal-raw-while-running",
           not (raw[3] & termios.ICANON) and not (raw[3] & termios.ECHO),
           "lflag %#x" % raw[3])
    con.expect(rb"BHYVE-GUEST-SHELL", 30)
    time.sleep(0.5)
    con.send("echo typed-$((6*7))\r")
    report("keyboard-input-reaches-guest", con.expect(rb"typed-42", 60)
           is not None, "no echo of typed command")
    con.send("lspci -n\r")
    m = con.expect(rb"(?s)(00:00\.0.*?)[#$] ", 60)
    lspci = m.group(1).decode(errors="replace") if m else ""
    report("lspci-hostbridge", "00:00.0 0600: 1275:1275" in lspci, lspci)
    report("lspci-lpc", "00:1f.0 0601: 8086:7000" in lspci, lspci)
    con.send("cat /proc/tty/driver/serial | grep -c uart:16550A; "
             "grep -c ^processor /proc/cpuinfo\r")
    m = con.expect(rb"\n(\d+)\r?\n(\d+)\r?\n", 60)
    report("four-com-ports", m is not None and m.group(1) == b"4",
           m.group(0).decode(errors="replace") if m else "no answer")
    con.send("cat /sys/class/rtc/rtc0/since_epoch\r")
    m = con.expect(rb"\n(\d{9,})\r?\n", 60)
    ok = m is not None and abs(int(m.group(1)) - time.time()) < 120
    report("rtc-time", ok, m.group(1).decode() if m else "no answer")
    con.send("reboot -f\r")
    rc = wait_exit(proc, 120, con=con)
    while con.pump(0.2):
        pass
    report("reboot-exit-status-0", rc == 0, "exit status %s" % rc)
    after = termios.tcgetattr(slave)
    report("terminal-restored", after == before, "termios differ")
    os.close(master)
    os.close(slave)


def check_pvh_vmlinux():
    """ELF vmlinux through the PVH entry, 5 GiB (memory above 4 GiB),
    x2APIC (-x), UTC RTC (-u)."""
    if not VMLINUX:
        report("pvh-vmlinux", False, "VMLINUX not prepared")
        return
    script = ("grep MemTotal /proc/meminfo; grep -o x2apic /proc/cpuinfo | head -1;"
              " dmesg | grep -c 'usable' ; dmesg | grep -E 'BIOS-e820|x2apic' ;"
              " cat /sys/class/rtc/rtc0/since_epoch; reboot -f\n")
    rc, out = run_script_boot("pvh-vmlinux", bhyve_args(
        "-x", "-u", kernel=VMLINUX, mem="5G",
        cmdline="console=ttyS0 bhyvetest=script"), script)
    report("pvh-vmlinux-boots", "BHYVE-GUEST-UP" in out, "no marker")
    report("pvh-vmlinux-reboot-0", rc == 0, "exit status %s" % rc)
    m = re.search(r"MemTotal:\s+(\d+) kB", out)
    kb = int(m.group(1)) if m else 0
    report("memory-above-4g", 4_800_000 < kb <= 5 * 1024 * 1024,
           "MemTotal %d kB" % kb)
    report("x2apic-option", re.search(r"^x2apic\r?$", out, re.M) is not None,
           "no x2apic flag in the guest")
    m = re.search(r"^(\d{9,})\r?$", out, re.M)
    report("rtc-utc", m is not None and abs(int(m.group(1)) - time.time()) < 120,
           "rtc %s" % (m.group(1) if m else "missing"))


def check_tty_backend():
    """COM1 on a pty pair (-l com1,/dev/pts/N), the kernel's own
    decompressor (the default), vCPU pinning; SIGTERM then stops bhyve."""
    tty = {}

    def spawn(log):
        fresh_pty(tty)
        args = bhyve_args("-p", "0:1", com1=os.ttyname(tty["slave"]),
                          cmdline="console=ttyS0 bhyvetest=shell")
        err = open(os.path.join(LOGDIR, log[:-4] + ".stderr"), "wb")
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                             stdout=err, stderr=subprocess.STDOUT)
        return p, Console(tty["master"], log)
    proc, con, up = boot_until("tty-backend", spawn, rb"BHYVE-GUEST-SHELL")
    master, slave = tty["master"], tty["slave"]
    report("tty-backend-output", up is not None, "no shell marker on the pty")
    th = threads(proc.pid)
    report("vcpu-pinning", th.get("vcpu 0") == "1", "vcpu 0 allowed on %s"
           % th.get("vcpu 0"))
    if up is not None:
        time.sleep(0.5)
        con.send("echo pty-$((40+2))\r")
        report("tty-backend-input", con.expect(rb"pty-42", 60) is not None,
               "no echo")
    # ACPI is on and the guest runs no acpid: the first SIGTERM presses a
    # power button nobody handles, the second (press still pending)
    # powers off with status 1.
    proc.send_signal(signal.SIGTERM)
    time.sleep(3)
    still = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    rc = wait_exit(proc, 60)
    report("sigterm-button-then-power-off", still and rc == 1,
           "running after the first SIGTERM: %s, exit status %s" % (still, rc))
    os.close(master)
    os.close(slave)


if __name__ == "__main__":
    plan(20)
    check_boot_shell()
    check_pvh_vmlinux()
    check_tty_backend()
    finish()

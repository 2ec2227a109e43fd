#!/usr/bin/env python3
"""e2e group "power": ACPI power management and timers with the stock
Debian kernel: the PM timer and HPET as clocksources, SIGTERM pressing the
ACPI power button (acpid powers the guest off: status 1), a second SIGTERM
forcing a guest without a button handler off, `poweroff -f` (S5: status 1),
`halt -f` (status 2, with -H), SIGTERM without ACPI tables (status 1 at
once), and -H: an idle vCPU thread rests with it and stays busy without it
(the guest's HLT then does not leave the guest, as in bhyve).
"""

import os
import signal
import time

from vmlib import *  # noqa: F401,F403

CS = "/sys/devices/system/clocksource/clocksource0"


class Guest:
    """A bhyve process with its console on pipes (bhyvetest=script)."""

    def __init__(self, name, args):
        self.name = name
        self.t0 = time.time()
        self.proc, self.con, m = boot_until(name, piped(args))
        self.is_up = m is not None

    def up(self):
        return self.is_up

    def run(self, cmds):
        self.proc.stdin.write(cmds.encode())
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=60):
        return self.con.expect(pattern, timeout)

    def wait(self, timeout):
        """Exit status within `timeout` s (None: killed), keeping the log."""
        end = time.time() + timeout
        while time.time() < end and self.proc.poll() is None:
            if self.con.pump(0.5) is None:
                break
        rc = wait_exit(self.proc, max(0.1, end - time.time()))
        while self.con.pump(0.1):
            pass
        print("  (%s: %.1f s)" % (self.name, time.time() - self.t0),
              flush=True)
        return rc


def vcpu_busy(pid, seconds=4.0):
    """Share of one CPU the thread "vcpu 0" used over `seconds` (utime +
    stime from /proc, which count the time the thread ran the guest)."""
    def ticks():
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                if open("/proc/%d/task/%s/comm" % (pid, t)).read().strip() \
                        != "vcpu 0":
                    continue
                f = open("/proc/%d/task/%s/stat" % (pid, t)).read()
            except OSError:
                continue
            f = f.rsplit(")", 1)[1].split()
            return int(f[11]) + int(f[12])
        return None
    a = ticks()
    time.sleep(seconds)
    b = ticks()
    if a is None or b is None:
        return None
    return (b - a) / os.sysconf("SC_CLK_TCK") / seconds


def check_acpid_and_clocks():
    g = Guest("power-acpid", bhyve_args(
        cpus="2", cmdline="console=ttyS0 bhyvetest=script bhyveacpid=1"))
    report("acpi-guest-up", g.up(), "no script marker")
    if not g.up():
        for n in ("clocksource-hpet-available", "clocksource-acpi_pm-available",
                  "clocksource-hpet-keeps-time", "clocksource-acpi_pm-keeps-time",
                  "sigterm-acpid-status-1", "sigterm-acpid-bounded"):
            report(n, False, "no script marker")
        kill_with_dump(g.proc, g.con)
        return
    g.run("echo CS=$(cat %s/available_clocksource)\n" % CS)
    m = g.expect(rb"CS=([^\r\n]*)\r?\n")
    avail = m.group(1).decode() if m else ""
    report("clocksource-hpet-available", "hpet" in avail.split(), avail)
    report("clocksource-acpi_pm-available", "acpi_pm" in avail.split(), avail)
    for cs in ("hpet", "acpi_pm"):
        g.run("echo %s > %s/current_clocksource; read a _ </proc/uptime; "
              "sleep 1; read b _ </proc/uptime; "
              "echo CUR=$(cat %s/current_clocksource) UP=$a,$b\n"
              % (cs, CS, CS))
        m = g.expect(rb"CUR=(\S+) UP=([\d.]+),([\d.]+)\r?\n")
        ok = False
        why = "no answer"
        if m:
            cur = m.group(1).decode()
            d = float(m.group(3)) - float(m.group(2))
            ok = cur == cs and 0.9 <= d < 10
            why = "current %s, uptime advanced %.2f s over sleep 1" % (cur, d)
        report("clocksource-%s-keeps-time" % cs, ok, why)
    g.run("dmesg | grep -iE 'hpet|acpi_pm|power button' ; echo READY\n")
    g.expect(rb"READY\r?\n")
    time.sleep(1)
    t = time.time()
    g.proc.send_signal(signal.SIGTERM)
    rc = g.wait(90)
    took = time.time() - t
    report("sigterm-acpid-status-1", rc == 1, "exit status %s" % rc)
    report("sigterm-acpid-bounded", rc is not None and took < 60,
           "took %.1f s" % took)


def check_sigterm_twice():
    """No button driver in the guest: PWRBTN_EN stays off, the press
    stays pending, the VM keeps running; a second SIGTERM powers off."""
    g = Guest("power-sigterm-twice", bhyve_args(
        cmdline="console=ttyS0 bhyvetest=script", hp=False))
    if not g.up():
        report("sigterm-pending-keeps-running", False, "no script marker")
        report("second-sigterm-status-1", False, "no script marker")
        report("idle-without-H-uses-a-cpu", False, "no script marker")
        kill_with_dump(g.proc, g.con)
        return
    # Without -H (bhyve(8): "virtual CPUs will use 100% of a host CPU")
    # the idle guest's HLT stays in the guest: its thread stays busy.
    time.sleep(2)
    busy = vcpu_busy(g.proc.pid)
    report("idle-without-H-uses-a-cpu", busy is not None and busy > 0.6,
           "vcpu 0 used %s of a CPU" % busy)
    g.proc.send_signal(signal.SIGTERM)
    time.sleep(3)
    g.run("echo ALIVE-$((20+22))\n")
    alive = g.expect(rb"ALIVE-42", 30) is not None
    report("sigterm-pending-keeps-running",
           alive and g.proc.poll() is None, "status %s" % g.proc.poll())
    g.proc.send_signal(signal.SIGTERM)
    rc = g.wait(20)
    report("second-sigterm-status-1", rc == 1, "exit status %s" % rc)


def check_poweroff_and_halt():
    g = Guest("power-poweroff", bhyve_args(
        cmdline="console=ttyS0 bhyvetest=script"))
    if g.up():
        g.run("poweroff -f\n")
    rc = g.wait(120)
    report("poweroff-f-status-1", rc == 1, "exit status %s" % rc)

    g = Guest("power-halt", bhyve_args(
        cpus="2", cmdline="console=ttyS0 bhyvetest=script"))
    t = None
    busy = None
    if g.up():
        # With -H the idle guest's HLT sleeps in KVM: the thread rests.
        time.sleep(2)
        busy = vcpu_busy(g.proc.pid)
        g.run("halt -f\n")
        t = time.time()
    report("idle-with-H-rests", busy is not None and busy < 0.3,
           "vcpu 0 used %s of a CPU" % busy)
    rc = g.wait(120)
    report("halt-f-status-2", rc == 2, "exit status %s" % rc)
    took = time.time() - t if t else 999
    report("halt-detected-bounded", rc == 2 and took < 30,
           "took %.1f s" % took)


def check_no_acpi_sigterm():
    g = Guest("power-noacpi", bhyve_args(
        "-o", "acpi_tables=false", cmdline="console=ttyS0 bhyvetest=script"))
    up = g.up()
    g.proc.send_signal(signal.SIGTERM)
    rc = g.wait(20)
    report("no-acpi-sigterm-status-1", up and rc == 1,
           "up %s, exit status %s" % (up, rc))


plan(15)
check_acpid_and_clocks()
check_sigterm_twice()
check_poweroff_and_halt()
check_no_acpi_sigterm()
finish()

#!/usr/bin/env python3
"""e2e group "console-io": console output never blocks bhyve, signals end it
promptly and put every terminal back, SIGUSR2 dumps its state.

- stdout is a pipe nobody reads while the guest prints a lot (initcall_debug):
  the state dump still answers, SIGTERM still powers off within seconds,
  the dropped bytes are reported, the caller's pipe stays blocking;
- a /dev/pts backend is raw while bhyve runs and restored after SIGTERM,
  SIGINT, SIGHUP and SIGQUIT, each with the status the signal calls for.

A guest lost as the test host loses boots now and then (README, Tests:
bhyve gone by itself, or a console that stops early) makes its scenario
run again, BOOT_ATTEMPTS runs in all; every check reports once, from the
last run.
"""

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import time

from vmlib import *  # noqa: F401,F403

FIONREAD = 0x541B
F_SETPIPE_SZ = 1031


def pipe_level(fd):
    return struct.unpack("i", fcntl.ioctl(fd, FIONREAD, b"\0\0\0\0"))[0]


def retried(name, scenario, *args):
    """Run scenario(rep, suffix, *args), which appends (check, ok, why) to
    rep and returns True when its guest was lost before it was signalled;
    such a run is run again, BOOT_ATTEMPTS in all.  Reports the last run's
    checks."""
    for attempt in range(1, BOOT_ATTEMPTS + 1):
        rep = []
        lost = scenario(rep, "" if attempt == 1 else ".run%d" % attempt,
                        *args)
        if not lost or attempt == BOOT_ATTEMPTS:
            break
        print("  (LOST-BOOT %s: the guest was lost in run %d of %d; running "
              "the scenario again)" % (name, attempt, BOOT_ATTEMPTS),
              flush=True)
    for n, ok, why in rep:
        report(n, ok, why)


def check_unread_stdout(rep, suffix):
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    flags_before = fcntl.fcntl(w, fcntl.F_GETFL)
    errpath = os.path.join(LOGDIR, "unread-stdout%s.stderr" % suffix)
    err = open(errpath, "wb")
    args = bhyve_args(cpus="2", cmdline="console=ttyS0 loglevel=8 "
                      "initcall_debug ignore_loglevel bhyvetest=shell")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=w,
                            stderr=err)
    # The reader never reads: wait until the pipe is (about) full, then
    # longer, so bhyve's own buffer fills too.
    end = time.time() + BOOT_TIMEOUT
    while time.time() < end and proc.poll() is None and pipe_level(r) < 3072:
        time.sleep(0.5)
    full = pipe_level(r) >= 3072
    time.sleep(15)
    # Gone by itself (a triple fault), or stopped printing early: lost.
    lost = proc.poll() is not None or not full
    flags_during = fcntl.fcntl(w, fcntl.F_GETFL)
    rep.append(("stdout-description-untouched",
           flags_during == flags_before and not flags_during & os.O_NONBLOCK,
           "file status flags %#x, were %#x" % (flags_during, flags_before)))
    proc.send_signal(signal.SIGUSR2)
    time.sleep(2)
    dump = open(errpath, "rb").read().decode(errors="replace")
    rep.append(("sigusr2-state-dump", proc.poll() is None and
                "IOAPIC pin  4" in dump and "com1 (port 0x3f8" in dump and
                "vcpu 1:" in dump, "bhyve ended or no dump: %s" % dump[-400:]))
    # ACPI is on and this guest runs no acpid: the first SIGTERM presses
    # the power button (nobody handles it), the second, with the press
    # still pending, powers off.  Neither may wait for the stalled output.
    proc.send_signal(signal.SIGTERM)
    time.sleep(1)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    rc = wait_exit(proc, 10, dump=False)
    dt = time.time() - t0
    rep.append(("sigterm-with-unread-stdout", rc is not None and dt < 5,
                "still running after %.1f s (pipe full: %s)" % (dt, full)))
    rep.append(("sigterm-status-poweroff", rc == 1, "exit status %s" % rc))
    err.close()
    text = open(errpath, "rb").read().decode(errors="replace")
    rep.append(("dropped-output-reported", full and "bytes of console "
                "output dropped" in text, "pipe full %s; stderr: %s" % (
                    full, text[-300:])))
    os.close(r)
    os.close(w)
    return lost


def check_shared_unread_pipe(rep, suffix):
    """stdout and stderr the same pipe nobody reads (bhyve ... 2>&1 | x):
    SIGINT still ends bhyve within seconds, by that signal."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    args = bhyve_args(cmdline="console=ttyS0 loglevel=8 initcall_debug "
                      "ignore_loglevel bhyvetest=shell")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=w,
                            stderr=w)
    end = time.time() + BOOT_TIMEOUT
    while time.time() < end and proc.poll() is None and pipe_level(r) < 3072:
        time.sleep(0.5)
    full = pipe_level(r) >= 3072
    time.sleep(5)
    lost = proc.poll() is not None or not full
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    rc = wait_exit(proc, 10, dump=False)
    dt = time.time() - t0
    rep.append(("sigint-with-unread-stdout-and-stderr",
                rc == -signal.SIGINT and dt < 5,
                "exit status %s after %.1f s (pipe full: %s)" % (rc, dt,
                                                                 full)))
    os.close(r)
    os.close(w)
    return lost


def check_tty_restored(rep, suffix, sig, want):
    """com1 on /dev/pts/N: raw while running, restored after the signal."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    before = termios.tcgetattr(slave)
    name = "tty-%s%s" % (signal.Signals(sig).name, suffix)
    err = open(os.path.join(LOGDIR, name + ".stderr"), "wb")
    proc = subprocess.Popen(bhyve_args(com1=path), stdin=subprocess.DEVNULL,
                            stdout=err, stderr=subprocess.STDOUT)
    con = Console(master, name + ".log")
    raw = False
    end = time.time() + 30
    while time.time() < end and proc.poll() is None:
        con.pump(0.2)
        if not termios.tcgetattr(slave)[3] & termios.ICANON:
            raw = True
            break
    up = con.expect(rb"Linux version", 60) is not None  # the guest runs
    lost = not up or proc.poll() is not None
    proc.send_signal(sig)
    if sig == signal.SIGTERM:
        # Once the guest has turned ACPI on, SIGTERM presses the power
        # button (no acpid here); a second one then powers off.
        time.sleep(1)
        if proc.poll() is None:
            proc.send_signal(sig)
    rc = wait_exit(proc, 10, dump=False)
    while con.pump(0.1):
        pass
    after = termios.tcgetattr(slave)
    rep.append(("pts-backend-restored-%s" % signal.Signals(sig).name,
                raw and after == before, "raw while running: %s; termios %s"
                % (raw, "restored" if after == before else "differ")))
    rep.append(("pts-backend-status-%s" % signal.Signals(sig).name,
                rc == want, "exit status %s, expected %s" % (rc, want)))
    os.close(master)
    os.close(slave)
    err.close()
    return lost


if __name__ == "__main__":
    plan(14)
    retried("unread-stdout", check_unread_stdout)
    retried("shared-unread-pipe", check_shared_unread_pipe)
    for sig, want in ((signal.SIGTERM, 1), (signal.SIGINT, -signal.SIGINT),
                      (signal.SIGHUP, -signal.SIGHUP),
                      (signal.SIGQUIT, -signal.SIGQUIT)):
        retried("tty-%s" % signal.Signals(sig).name, check_tty_restored, sig,
                want)
    finish()

#!/usr/bin/env python3
"""e2e group "console-io": console output never blocks bhyve, signals end it
promptly and put every terminal back, SIGUSR2 dumps its state.

- stdout is a pipe nobody reads while the guest prints a lot (initcall_debug):
  the state dump still answers, SIGTERM still powers off within seconds,
  the dropped bytes are reported, the caller's pipe stays blocking;
- a /dev/pts backend is raw while bhyve runs and restored after SIGTERM,
  SIGINT, SIGHUP and SIGQUIT, each with the status the signal calls for.
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


def check_unread_stdout():
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    flags_before = fcntl.fcntl(w, fcntl.F_GETFL)
    errpath = os.path.join(LOGDIR, "unread-stdout.stderr")
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
    flags_during = fcntl.fcntl(w, fcntl.F_GETFL)
    report("stdout-description-untouched",
           flags_during == flags_before and not flags_during & os.O_NONBLOCK,
           "file status flags %#x, were %#x" % (flags_during, flags_before))
    proc.send_signal(signal.SIGUSR2)
    time.sleep(2)
    dump = open(errpath, "rb").read().decode(errors="replace")
    report("sigusr2-state-dump", proc.poll() is None and
           "IOAPIC pin  4" in dump and "com1 (port 0x3f8" in dump and
           "vcpu 1:" in dump, "bhyve ended or no dump: %s" % dump[-400:])
    # ACPI is on and this guest runs no acpid: the first SIGTERM presses
    # the power button (nobody handles it), the second, with the press
    # still pending, powers off.  Neither may wait for the stalled output.
    proc.send_signal(signal.SIGTERM)
    time.sleep(1)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    rc = wait_exit(proc, 10, dump=False)
    dt = time.time() - t0
    report("sigterm-with-unread-stdout", rc is not None and dt < 5,
           "still running after %.1f s (pipe full: %s)" % (dt, full))
    report("sigterm-status-poweroff", rc == 1, "exit status %s" % rc)
    err.close()
    text = open(errpath, "rb").read().decode(errors="replace")
    report("dropped-output-reported", full and "bytes of console output "
           "dropped" in text, "pipe full %s; stderr: %s" % (full, text[-300:]))
    os.close(r)
    os.close(w)


def check_shared_unread_pipe():
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
    time.sleep(5)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    rc = wait_exit(proc, 10, dump=False)
    dt = time.time() - t0
    report("sigint-with-unread-stdout-and-stderr",
           rc == -signal.SIGINT and dt < 5,
           "exit status %s after %.1f s" % (rc, dt))
    os.close(r)
    os.close(w)


def check_tty_restored(sig, want):
    """com1 on /dev/pts/N: raw while running, restored after the signal."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    before = termios.tcgetattr(slave)
    name = "tty-%s" % signal.Signals(sig).name
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
    con.expect(rb"Linux version", 60)  # the guest runs
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
    report("pts-backend-restored-%s" % signal.Signals(sig).name,
           raw and after == before, "raw while running: %s; termios %s" %
           (raw, "restored" if after == before else "differ"))
    report("pts-backend-status-%s" % signal.Signals(sig).name, rc == want,
           "exit status %s, expected %s" % (rc, want))
    os.close(master)
    os.close(slave)
    err.close()


if __name__ == "__main__":
    plan(14)
    check_unread_stdout()
    check_shared_unread_pipe()
    check_tty_restored(signal.SIGTERM, 1)
    check_tty_restored(signal.SIGINT, -signal.SIGINT)
    check_tty_restored(signal.SIGHUP, -signal.SIGHUP)
    check_tty_restored(signal.SIGQUIT, -signal.SIGQUIT)
    finish()

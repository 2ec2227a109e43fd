"""Shared helpers of the end-to-end groups (tests/e2e/group-*.py), run inside
the nested test host (tests/e2e/testhost.sh).  Each group prints
"PLAN: N" first (the number of checks it must run), then "PASS: e2e/NAME"
or "FAIL: e2e/NAME: why" per check; the runner fails a group that reported
fewer checks than planned.  Standard library only."""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BHYVE = os.environ.get("BHYVE", os.path.join(TOP, "build", "bhyve"))
KERNEL = os.environ["KERNEL"]
VMLINUX = os.environ.get("VMLINUX", "")
INITRD = os.environ["GUEST_INITRD"]
LOGDIR = os.environ.get("BHYVE_TEST_RUNDIR", "/tmp")
# Console logs and bhyve state dumps of this group: the run dir survives a
# failed group (tests/run.sh prints its path).
BOOT_TIMEOUT = 240
# The test host loses a boot now and then (README, Tests: a triple fault,
# status 3, or a guest that stops printing for good, early in boot; QEMU
# as the inner VMM loses boots the same way).  A boot that never reaches
# its marker is dumped, killed and booted again, at most BOOT_ATTEMPTS in
# all; each loss prints a "LOST-BOOT" line that tests/run.sh counts, and a
# deterministic failure still fails every attempt.
BOOT_ATTEMPTS = 3
# A healthy boot prints kernel messages with no pause this long before its
# marker: a console silent for longer belongs to a lost boot.
BOOT_SILENCE = 90

results = []


def report(name, ok, why=""):
    results.append(ok)
    print(("PASS: e2e/%s" % name) if ok else ("FAIL: e2e/%s: %s" % (name, why)),
          flush=True)


class Console:
    """Reads a file descriptor into a buffer; waits for patterns."""

    def __init__(self, fd, log):
        self.fd = fd
        self.buf = b""
        self.path = os.path.join(LOGDIR, log)
        self.log = open(self.path, "wb")
        self.last = time.time()

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            return None
        self.buf += data
        self.last = time.time()
        self.log.write(data)
        self.log.flush()
        return True

    def expect(self, pattern, timeout=BOOT_TIMEOUT, silence=None, proc=None):
        """Wait for a regex (bytes) in the output after the last match;
        with `silence`, give up as well once nothing came for that long,
        with `proc`, once that process has ended (a pty gives no EOF)."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        self.last = time.time()
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if proc is not None and proc.poll() is not None:
                # Read what it wrote last, then give up.
                end = min(end, time.time() + 0.5)
                proc = None
            left = end - time.time()
            if silence is not None and time.time() - self.last > silence:
                left = 0
            if left <= 0 or self.pump(min(left, 1.0)) is None:
                m = rx.search(self.buf)
                if m:
                    self.buf = self.buf[m.end():]
                return m

    def send(self, text):
        os.write(self.fd, text.encode())


def bhyve_args(*extra, kernel=None, cmdline="console=ttyS0", com1="stdio",
               cpus="1", mem="256M", name="e2evm", hp=True):
    """bhyve's command line for the stock kernel; with -H -P unless hp is
    False (as libvirt's bhyve driver always passes them)."""
    return [BHYVE, *(["-H", "-P"] if hp else []), "-c", cpus, "-m", mem,
            "-s", "0,hostbridge", "-s", "31,lpc",
            "-l", "com1," + com1, *extra,
            "-o", "boot.kernel=" + (kernel or KERNEL),
            "-o", "boot.initrd=" + INITRD,
            "-o", "boot.cmdline=" + cmdline, name]


def children(pid):
    """PIDs of a process's children (bhyve -M's VM processes)."""
    try:
        return [int(x) for x in
                open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
    except OSError:
        return []


def kill_with_dump(proc, con=None):
    """A guest that missed its marker or its exit: ask bhyve for its state
    dump (SIGUSR2: per-vCPU exits, thread state, registers, LAPIC and
    events, UART registers, coalesced ring, PIC/IOAPIC, on bhyve's stderr;
    keep that in the group's log) twice, 3 s apart (the second shows what
    moved, and whether every vCPU answered the first), then kill it and
    its children (bhyve -M's VM process)."""
    if proc.poll() is None:
        print("  (sending SIGUSR2 to bhyve pid %d for its state dump, then "
              "killing it; logs in %s)" % (proc.pid, LOGDIR), flush=True)
        for _ in range(2):
            try:
                proc.send_signal(signal.SIGUSR2)
            except OSError:
                pass
            end = time.time() + 3
            while time.time() < end:
                if con is not None:
                    con.pump(0.2)
                else:
                    time.sleep(0.2)
        kids = children(proc.pid)
        proc.kill()
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
    proc.wait()


def wait_exit(proc, timeout, dump=True, con=None):
    """Exit status, or None when bhyve had to be killed (after a state
    dump unless dump=False)."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if dump:
            kill_with_dump(proc, con)
        else:
            proc.kill()
            proc.wait()
        return None


def piped(args, env=None):
    """spawn for boot_until: bhyve with stdin and stdout on pipes (stderr
    with stdout)."""
    def spawn(log):
        proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        return proc, Console(proc.stdout.fileno(), log)
    return spawn


def fresh_pty(tty):
    """A new pty pair in tty["master"], tty["slave"] for each boot attempt
    (a killed bhyve cannot restore its terminal); closes a lost attempt's."""
    for fd in tty.pop("master", None), tty.pop("slave", None):
        if fd is not None:
            os.close(fd)
    tty["master"], tty["slave"] = pty.openpty()


def on_pty(args, tty):
    """spawn for boot_until: bhyve with a fresh pty (fresh_pty) as its
    terminal on stdin, stdout and stderr, in a session of its own; the
    pty's settings before bhyve starts go in tty["before"]."""
    def spawn(log):
        fresh_pty(tty)
        tty["before"] = termios.tcgetattr(tty["slave"])
        proc = subprocess.Popen(args, stdin=tty["slave"], stdout=tty["slave"],
                                stderr=tty["slave"], start_new_session=True)
        return proc, Console(tty["master"], log)
    return spawn


def boot_until(name, spawn, marker=rb"BHYVE-GUEST-SCRIPT\r?\n",
               timeout=BOOT_TIMEOUT):
    """Start a guest with spawn(log file name) -> (proc, Console) and wait
    for `marker`; a boot lost before it (bhyve gone, the console silent for
    BOOT_SILENCE s, or `timeout`) is reported, dumped, killed and started
    again, BOOT_ATTEMPTS in all.  Returns (proc, con, match) of the attempt
    that reached the marker, or of the last one with match None (its bhyve
    left running for the caller)."""
    for attempt in range(1, BOOT_ATTEMPTS + 1):
        log = name if attempt == 1 else "%s.attempt%d" % (name, attempt)
        proc, con = spawn(log + ".log")
        m = con.expect(marker, timeout, silence=BOOT_SILENCE, proc=proc)
        if m is not None or attempt == BOOT_ATTEMPTS:
            return proc, con, m
        try:
            rc = proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            rc = None
        print("  (LOST-BOOT %s: no marker in attempt %d of %d (%s); "
              "booting it again)" % (
                  name, attempt, BOOT_ATTEMPTS, "bhyve still running" if
                  rc is None else "bhyve exit status %s" % rc), flush=True)
        kill_with_dump(proc, con)


def run_script_boot(name, args, script, timeout=BOOT_TIMEOUT):
    """Boot with bhyvetest=script, stdio on pipes; once the guest's script
    shell is up (input sent earlier would be eaten by the guest's serial
    driver probing the UART), type `script`; return (status, output)."""
    t0 = time.time()
    proc, con, m = boot_until(name, piped(args), rb"BHYVE-GUEST-SCRIPT",
                              timeout)
    if m is not None:
        proc.stdin.write(script.encode())
        proc.stdin.flush()
        end = time.time() + timeout
        while time.time() < end and con.pump(1.0) is not None:
            pass
    rc = wait_exit(proc, 10, con=con)
    out = open(con.path, "rb").read().decode(errors="replace")
    print("  (%s: %.1f s)" % (name, time.time() - t0), flush=True)
    return rc, out


def threads(pid):
    """{thread name: allowed CPU list} of a process."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            st = open("/proc/%d/task/%s/status" % (pid, tid)).read()
        except OSError:
            continue
        m = re.search(r"Cpus_allowed_list:\s*(\S+)", st)
        out[comm] = m.group(1) if m else ""
    return out




def plan(n):
    """Announce how many checks this group runs (first line of output)."""
    print("PLAN: %d" % n, flush=True)


def finish():
    """Exit status of a group: 0 when every check passed."""
    sys.exit(0 if results and all(results) else 1)

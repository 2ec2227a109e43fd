#!/usr/bin/env bash
# Bad user input: each case must end within a second with a nonzero status
# and one message naming the bad value, start nothing, and leave the
# terminal as it was.  Prints "PLAN: N" first (N: the `bad` lines below
# plus the 5 other checks at the end), then "PASS: cli/NAME" or
# "FAIL: cli/NAME: why".  Several checks reach the VM-building stage, so
# they need a usable /dev/kvm (tests/run.sh runs this tier inside the
# nested test host when the machine has none).
set -u
echo "PLAN: $(( $(grep -c '^bad ' "$0") + 5 ))"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${BHYVE:-$top/build/bhyve}
G=$top/tests/kvm/guests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# bad NAME STATUS MESSAGE-REGEX -- ARGS...  records a case; run_bad then
# runs all of them from one Python process (each on a pseudo-terminal) and
# judges them in order.  One process, not one per case: in the nested test
# host (CI) each Python start costs seconds.
ncase=0
bad() {
	local name=$1 want=$2 re=$3
	shift 4
	ncase=$((ncase + 1))
	printf '%s\0' "$name" "$want" "$re" "$B" "$@" >"$tmp/case.$(printf %04d "$ncase")"
}

run_bad() {
	python3 - "$tmp" <<'PY'
import glob, os, pty, subprocess, sys, termios, time
tmp = sys.argv[1]
for cf in sorted(glob.glob(tmp + "/case.*")):
    f = open(cf, "rb").read().split(b"\0")[:-1]
    name, argv = f[0].decode(), [a.decode() for a in f[3:]]
    m, s = pty.openpty()
    before = termios.tcgetattr(s)
    t0 = time.time()
    try:
        p = subprocess.run(argv, stdin=s, stdout=s, stderr=subprocess.PIPE,
                           timeout=10)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout", b""
    dt = time.time() - t0
    after = termios.tcgetattr(s)
    os.close(m)
    os.close(s)
    open(os.path.join(tmp, "res." + name), "w").write("%s\n%.3f\n%d\n%s" % (
        rc, dt, before == after, err.decode(errors="replace")))
PY
	local cf f name want re r rc dt same msg lines
	for cf in "$tmp"/case.*; do
		[ -f "$cf" ] || continue
		mapfile -d '' -t f <"$cf"
		name=${f[0]} want=${f[1]} re=${f[2]} r="$tmp/res.${f[0]}"
		if [ ! -f "$r" ]; then
			echo "FAIL: cli/$name: not run"
			continue
		fi
		rc=$(sed -n 1p "$r")
		dt=$(sed -n 2p "$r")
		same=$(sed -n 3p "$r")
		msg=$(sed -n '4,$p' "$r")
		lines=$(printf '%s\n' "$msg" | grep -c .)
		if [ "$rc" != "$want" ]; then
			echo "FAIL: cli/$name: status $rc, expected $want: $msg"
		elif ! printf '%s' "$msg" | grep -Eq -- "$re"; then
			echo "FAIL: cli/$name: message does not match /$re/: $msg"
		elif [ "$lines" != 1 ] && [ "$want" != 1 ]; then
			echo "FAIL: cli/$name: $lines lines of message: $msg"
		elif awk -v t="$dt" 'BEGIN { exit !(t > 1.0) }'; then
			echo "FAIL: cli/$name: took $dt s"
		elif [ "$same" != 1 ]; then
			echo "FAIL: cli/$name: terminal settings changed"
		else
			echo "PASS: cli/$name"
		fi
	done
}

K="-o boot.kernel=$G/pvh.elf"
L="-s 0,hostbridge -s 31,lpc -l com1,stdio"
# shellcheck disable=SC2086
{
bad memsize 64 "invalid memsize '12Q'" -- -m 12Q vm
bad memsize-zero 64 "invalid memsize '0'" -- -m 0 vm
bad memsize-overflow 64 "invalid memsize '99999999999T'" -- -m 99999999999T vm
bad topology-product 64 "cpus=3 but sockets=2" -- -c 3,sockets=2 vm
bad topology-max 64 "17 vCPUs" -- -c 17 vm
bad topology-word 64 "bogus=1" -- -c 2,bogus=1 vm
bad topology-tree 4 "cpus=4 but sockets=1" -- -o cpus=4 -o sockets=1 -o cores=1 -o threads=1 $K $L vm
bad slot-range 4 "slot 0:32:0" -- -s 32,hostbridge vm
bad func-range 4 "0:1:8" -- -s 1:8,hostbridge vm
bad bus-range 4 "invalid PCI slot '256:1:0'" -- -s 256:1:0,hostbridge vm
bad slot-duplicate 4 "0:3:0 already occupied" -- -s 3,hostbridge -s 3,lpc vm
bad unknown-device 4 'unknown device "nosuch"' -- -s 3,nosuch vm
bad unimplemented-device 4 'pci.0.3.0: device "virtio-net" is not implemented yet' -- $K $L -s 3,virtio-net,tap0 vm
bad lpc-device 64 "invalid lpc device configuration 'com9,stdio'" -- -l com9,stdio vm
bad lpc-on-bus1 4 "only be configured on bus 0" -- $K -s 1:31:0,lpc vm
bad com-without-lpc 4 "com1 is configured but there is no LPC bridge" -- $K -l com1,stdio vm
bad missing-kernel 4 "boot.kernel: cannot read '/nonexistent/vmlinuz'" -- -o boot.kernel=/nonexistent/vmlinuz $L vm
bad missing-initrd 4 "boot.initrd: cannot read '/nonexistent/initrd'" -- $K -o boot.initrd=/nonexistent/initrd $L vm
bad not-a-kernel 4 "boot.kernel '/etc/hostname'" -- -o boot.kernel=/etc/hostname $L vm
bad no-kernel 4 "nothing to boot" -- $L vm
bad missing-vmname 1 "missing vmname" -- $K $L
bad extra-args 1 "unexpected arguments" -- $K $L vm extra
bad unknown-option 1 "unknown option -Z" -- -Z vm
bad bad-config-file 64 "cannot open configuration file '/nonexistent.conf'" -- -k /nonexistent.conf vm
bad bad-config-line 64 "bad.conf:2: expected NAME=VALUE" -- -k "$here/bad.conf" vm
bad bad-bool 4 "invalid boolean 'maybe' for 'x86.strictio'" -- -o x86.strictio=maybe $K $L vm
bad undefined-reference 64 "refers to undefined 'nosuch'" -- -o 'boot.kernel=%(nosuch)' vm
bad serial-backend 4 "lpc.com1.path: serial backend '/nonexistent/tty'" -- $K -s 31,lpc -l com1,/nonexistent/tty vm
bad serial-not-tty 4 "serial backend '/dev/null' is not a terminal" -- $K -s 31,lpc -l com1,/dev/null vm
bad acpi-unimplemented 4 "ACPI tables .* not implemented" -- -A $K $L vm
bad memory-too-small 4 "memory.size '1M'" -- -m 1M $K $L vm
}
run_bad
# Without a usable /dev/kvm (hidden by a bind mount in a private mount
# namespace): one message, status 4.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	msg=$(unshare -m sh -c "mount --bind /dev/null /dev/kvm && $B $K $L vm" 2>&1 </dev/null)
	rc=$?
	if [ $rc = 4 ] && printf '%s' "$msg" | grep -q "/dev/kvm"; then
		echo "PASS: cli/no-kvm"
	else
		echo "FAIL: cli/no-kvm: status $rc: $msg"
	fi
else
	echo "FAIL: cli/no-kvm: cannot create a mount namespace to hide /dev/kvm"
fi
# config.dump prints the tree and exits 0 before any VM is created
out=$("$B" -c 2 -m 1G -s 0,hostbridge -s 2,virtio-blk,/img,ro -l com1,stdio \
	-o 'boot.cmdline=console=%(tty)' -o tty=ttyS0 -o config.dump=true vm1 2>&1)
rc=$?
exp='acpi_tables=false
boot.cmdline=console=%(tty)
config.dump=true
cores=1
cpus=2
lpc.com1.path=stdio
memory.size=1G
name=vm1
pci.0.0.0.device=hostbridge
pci.0.2.0.device=virtio-blk
pci.0.2.0.path=/img
pci.0.2.0.ro=true
sockets=2
threads=1
tty=ttyS0
x86.strictmsr=true'
if [ $rc = 0 ] && [ "$out" = "$exp" ]; then
	echo "PASS: cli/config-dump"
else
	echo "FAIL: cli/config-dump: status $rc, got:"
	printf '%s\n' "$out" | sed 's/^/    /'
fi
for h in "-s help" "-l help" "-h"; do
	# shellcheck disable=SC2086
	if "$B" $h >/dev/null 2>&1; then
		echo "PASS: cli/help${h// /}"
	else
		echo "FAIL: cli/help${h// /}: nonzero status"
	fi
done
exit 0

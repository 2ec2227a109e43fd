#!/usr/bin/env bash
# Bad user input: each case must end within a second with a nonzero status
# and one message naming the bad value, start nothing, and leave the
# terminal as it was.  Prints "PLAN: N" first (N: the `bad` lines below
# plus the 9 other checks at the end), then "PASS: cli/NAME" or
# "FAIL: cli/NAME: why".  Several checks reach the VM-building stage, so
# they need a usable /dev/kvm (tests/run.sh runs this tier inside the
# nested test host when the machine has none).
set -u
echo "PLAN: $(( $(grep -c '^bad ' "$0") + 9 ))"
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
bad topology-max 64 "2000 vCPUs, at most 1024" -- -c 2000 vm
bad topology-max-sockets 64 "at most 1024" -- -c sockets=64,cores=32 vm
bad topology-word 64 "bogus=1" -- -c 2,bogus=1 vm
bad topology-tree 4 "cpus=4 but sockets=1" -- -o cpus=4 -o sockets=1 -o cores=1 -o threads=1 $K $L vm
bad slot-range 4 "slot 0:32:0" -- -s 32,hostbridge vm
bad func-range 4 "0:1:8" -- -s 1:8,hostbridge vm
bad bus-range 4 "invalid PCI slot '256:1:0'" -- -s 256:1:0,hostbridge vm
bad slot-duplicate 4 "0:3:0 already occupied" -- -s 3,hostbridge -s 3,lpc vm
bad unknown-device 4 'unknown device "nosuch"' -- -s 3,nosuch vm
bad unimplemented-device 4 'pci.0.3.0: device "hda" is not implemented yet' -- $K $L -s 3,hda vm
bad net-bad-mac 4 "pci.0.4.0.mac: invalid MAC address '01:02:03:04:05:06': a multicast address" -- $K $L -s 4,virtio-net,slirp,mac=01:02:03:04:05:06 vm
bad net-bad-mac-syntax 4 "pci.0.4.0.mac: invalid MAC address 'zz:00:00:00:00:01'" -- $K $L -s 4,virtio-net,mac=zz:00:00:00:00:01 vm
bad net-bad-mtu 4 "pci.0.4.0.mtu: invalid MTU '45'" -- $K $L -s 4,virtio-net,slirp,mtu=45 vm
bad net-mtu-too-big 4 "pci.0.4.0.mtu: invalid MTU '65536'" -- $K $L -s 4,virtio-net,slirp,mtu=65536 vm
bad net-netgraph 4 "pci.0.4.0.backend: network backend 'netgraph' is not available on Linux" -- $K $L -s 4,virtio-net,netgraph,path=vmlink:,peerhook=a vm
bad net-unknown-backend 4 "pci.0.4.0.backend: unknown network backend 'eth0'" -- $K $L -s 4,virtio-net,eth0 vm
bad net-missing-tap 4 "pci.0.4.0.backend: tap interface 'tap97' does not exist" -- $K $L -s 4,virtio-net,tap97 vm
bad net-bad-hostfwd 4 "pci.0.4.0.hostfwd: invalid hostfwd rule 'tcp::x-:80'" -- $K $L -s 4,virtio-net,slirp,hostfwd=tcp::x-:80 vm
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
bad pio-notify-bool 4 "invalid boolean 'maybe' for 'virtio.pio_notify'" -- -o virtio.pio_notify=maybe $K $L vm
bad poll-us-range 4 "invalid value '1000001' for 'virtio.poll_us' .expected a number from 0 to 1000000." -- -o virtio.poll_us=1000001 $K $L vm
bad undefined-reference 64 "refers to undefined 'nosuch'" -- -o 'boot.kernel=%(nosuch)' vm
bad serial-backend 4 "lpc.com1.path: serial backend '/nonexistent/tty'" -- $K -s 31,lpc -l com1,/nonexistent/tty vm
bad serial-not-tty 4 "serial backend '/dev/null' is not a terminal" -- $K -s 31,lpc -l com1,/dev/null vm
bad numa-unknown-key 64 "unknown setting 'mem=1G'" -- -n id=0,mem=1G vm
bad numa-no-id 64 "missing NUMA domain ID in 'size=1G,cpus=0'" -- -n size=1G,cpus=0 vm
bad numa-bad-id 64 "invalid NUMA domain id 'x'" -- -n id=x vm
bad numa-too-many 64 "NUMA domain id 8 in 'id=8,cpus=0': at most 8 domains" -- -n id=8,cpus=0 vm
bad numa-duplicate 64 "NUMA domain 0 given twice" -- -n id=0,cpus=0 -n id=0,cpus=1 vm
bad numa-bad-size 64 "invalid NUMA domain size '1Q'" -- -n id=0,size=1Q vm
bad numa-bad-cpus 64 "invalid vCPU list 'z'" -- -n id=0,cpus=z vm
bad numa-no-acpi 64 "requires ACPI" -- -o acpi_tables=false -n id=0,cpus=0 vm
bad numa-no-acpi-later 4 "need ACPI tables" -- -m 1G -n id=0,size=1G,cpus=0 -o acpi_tables=false $K $L vm
bad numa-sizes 4 "NUMA domain sizes add up to 768 MiB but memory.size is 1024 MiB" -- -c 2 -m 1G -n id=0,size=512M,cpus=0 -n id=1,size=256M,cpus=1 $K $L vm
bad numa-cpu-range 4 "domains.1.cpus '1-2': vCPU 2 does not exist" -- -c 2 -m 1G -n id=0,size=512M,cpus=0 -n id=1,size=512M,cpus=1-2 $K $L vm
bad numa-cpu-twice 4 "domains.1.cpus '0-1': vCPU 0 is already in another NUMA domain" -- -c 2 -m 1G -n id=0,size=512M,cpus=0 -n id=1,size=512M,cpus=0-1 $K $L vm
bad numa-gap 4 "NUMA domain 1 is missing" -- -c 2 -m 1G -n id=0,size=512M,cpus=0 -n id=2,size=512M,cpus=1 $K $L vm
bad numa-cpu-none 4 "vCPU 1 is in no NUMA domain" -- -c 2 -m 1G -n id=0,size=1G,cpus=0 $K $L vm
bad memory-too-small 4 "memory.size '1M'" -- -m 1M $K $L vm
bad uuid 4 "invalid UUID 'not-a-uuid'" -- -U not-a-uuid $K $L vm
bad uuid-short 4 "invalid UUID '01234567-89ab-cdef-0011-22334455667'" -- -U 01234567-89ab-cdef-0011-22334455667 $K $L vm
bad uuid-option 4 "invalid UUID 'xyz'" -- -o uuid=xyz $K $L vm
long=$(printf 'y%.0s' $(seq 4000))
smbios_long=$(for v in bios.vendor bios.version bios.release_date system.manufacturer \
	system.product_name system.version system.serial_number system.sku system.family_name \
	board.manufacturer board.product_name board.version board.serial_number board.asset_tag \
	board.location chassis.manufacturer chassis.version chassis.serial_number \
	chassis.asset_tag chassis.sku; do printf -- '-o %s=%s ' "$v" "$long"; done)
bad smbios-too-long 4 "SMBIOS tables do not fit" -- $smbios_long $K $L vm
bad pin-format 64 "invalid format '3' for -p" -- -p 3 vm
bad pin-vcpu-range 64 "invalid vcpu '1024'" -- -p 1024:0 vm
bad pin-host-range 64 "invalid host cpu '1024'" -- -p 0:1024 vm
bad pin-vcpu-missing 4 "vCPU 5 does not exist, the VM has 2" -- -c 2 -p 0:0 -p 5:0 $K $L vm
bad pin-host-missing 4 "host CPU 1000 does not exist" -- -c 2 -p 1:1000 $K $L vm
bad bootrom-no-file 64 "invalid bootrom option 'bootrom'" -- -l bootrom vm
bad bootrom-empty-file 64 "invalid bootrom option 'bootrom,,/vars.fd'" -- -l bootrom,,/vars.fd vm
bad bootrom-unimplemented 4 "boot ROMs are not implemented" -- -l bootrom,/rom.fd,fwcfg=qemu $L vm
bad tpm-no-path 64 "invalid tpm option 'tpm,passthru'" -- -l tpm,passthru vm
bad monitor-bool 4 "invalid boolean 'maybe' for 'monitor'" -- -o monitor=maybe $K $L vm
bad monitor-rundir 4 "rundir '/nonexistent/run'" -- -M -o rundir=/nonexistent/run $K $L vm
bad monitor-rundir-file 4 "rundir '/etc/hostname' is not a directory" -- -M -o rundir=/etc/hostname $K $L vm
bad monitor-arg 1 "unexpected arguments" -- -M on $K $L vm
# The control socket (<rundir>/<vmname>): checked before the VM is created
mkdir -p "$tmp/rd" && echo keep >"$tmp/rd/vm"
bad rundir-missing 4 "control socket: socket '/nonexistent/run/vm': directory '/nonexistent/run'" -- -o rundir=/nonexistent/run $K $L vm
bad rundir-not-a-socket 4 "control socket: socket '$tmp/rd/vm': the path exists and is not a socket" -- -o rundir=$tmp/rd $K $L vm
ports17=$(for i in $(seq 0 16); do printf ',p%d=%s/p%d.sock' "$i" "$tmp" "$i"; done)
V="-o pci.0.4.0.device=virtio-console"
bad vtcon-too-many-ports 4 "virtio-console: too many ports \(at most 16\)" -- $K $L -s "4,virtio-console$ports17" vm
bad vtcon-no-path 4 "virtio-console: port 'alpha' requires a path" -- $K $L -s 4,virtio-console,alpha vm
bad vtcon-missing-name 4 "pci.0.4.0.port.0.name: required name missing" -- $K $L $V -o "pci.0.4.0.port.0.path=$tmp/x.sock" vm
bad vtcon-missing-path 4 "pci.0.4.0.port.3.path: required path missing" -- $K $L $V -o pci.0.4.0.port.3.name=x vm
bad vtcon-bad-port 4 "pci.0.4.0.port.16: invalid port \(use 0 to 15\)" -- $K $L $V -o pci.0.4.0.port.16.name=x -o pci.0.4.0.port.16.path=/tmp/x vm
bad vtcon-missing-dir 4 "pci.0.4.0.port.0.path: socket '/nonexistent/dir/a.sock': directory '/nonexistent/dir': No such file" -- $K $L -s 4,virtio-console,a=/nonexistent/dir/a.sock vm
bad vtcon-not-a-socket 4 "pci.0.4.0.port.1.path: socket '/etc/hostname': the path exists and is not a socket" -- $K $L -s "4,virtio-console,a=$tmp/first.sock,b=/etc/hostname" vm
bad vtcon-same-path 4 "socket '$tmp/s.sock' is used by two ports" -- $K $L -s "4,virtio-console,a=$tmp/s.sock,b=$tmp/s.sock" vm
bad vtcon-same-path-two-devices 4 "socket '$tmp/t.sock' is used by two ports" -- $K $L -s "4,virtio-console,a=$tmp/t.sock" -s "5,virtio-console,b=$tmp/u.sock,c=$tmp/t.sock" vm
# virtio-blk images: checked before the VM is created
truncate -s 1M "$tmp/disk.img" "$tmp/ro.img"
chmod 0444 "$tmp/ro.img"
bad blk-missing-image 4 "pci.0.4.0: cannot open disk image '/nonexistent/disk.img'" -- $K $L -s 4,virtio-blk,/nonexistent/disk.img vm
bad blk-no-path 4 'pci.0.4.0: missing "path"' -- $K $L -s 4,virtio-blk vm
bad blk-bad-sectorsize 4 "pci.0.4.0.sectorsize: invalid sector size '1000'" -- $K $L -s "4,virtio-blk,$tmp/disk.img,sectorsize=1000" vm
bad blk-sectorsize-order 4 "invalid sector size '4096/512'" -- $K $L -s "4,virtio-blk,$tmp/disk.img,sectorsize=4096/512" vm
bad blk-ro-file 4 "disk image '$tmp/ro.img' is read-only .*add 'ro'" -- $K $L -s "4,virtio-blk,$tmp/ro.img" vm
bad blk-bad-bool 4 "invalid boolean 'maybe' for 'pci.0.4.0.nocache'" -- $K $L -s "4,virtio-blk,$tmp/disk.img,nocache=maybe" vm
bad blk-not-a-disk 4 "'/dev/null' is neither a regular file nor a block device" -- $K $L -s 4,virtio-blk,/dev/null vm
}
run_bad
# The file where the control socket would go was left as it was.
if [ "$(cat "$tmp/rd/vm" 2>/dev/null)" = keep ]; then
	echo "PASS: cli/rundir-file-untouched"
else
	echo "FAIL: cli/rundir-file-untouched: $tmp/rd/vm was changed or removed"
fi
# The rejected virtio-console configuration created no socket file.
if [ -e "$tmp/first.sock" ]; then
	echo "FAIL: cli/vtcon-nothing-created: $tmp/first.sock was left behind"
else
	echo "PASS: cli/vtcon-nothing-created"
fi
# -S with a locked-memory limit too small for the guest (and without
# CAP_IPC_LOCK): one message naming the limit, before anything is mapped.
if command -v setpriv >/dev/null; then
	msg=$(ulimit -l 1024; setpriv --bounding-set -ipc_lock "$B" -S -m 512M $K $L vm 2>&1 </dev/null)
	rc=$?
	if [ $rc = 4 ] && printf '%s' "$msg" | grep -q "RLIMIT_MEMLOCK.* is 1024 KiB"; then
		echo "PASS: cli/wired-memlock"
	else
		echo "FAIL: cli/wired-memlock: status $rc: $msg"
	fi
else
	echo "FAIL: cli/wired-memlock: setpriv (util-linux) is missing"
fi
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
exp='acpi_tables=true
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
# stderr a full pipe nobody reads: the message is dropped after a bounded
# wait, never blocks bhyve; with stderr a file opened for appending, the
# message is appended (not written over what the file held).
r=$(python3 - "$B" "$tmp/err.log" <<'PY'
import fcntl, os, subprocess, sys, time
b, log = sys.argv[1], sys.argv[2]
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    while True:
        os.write(w, b"x" * 4096)
except BlockingIOError:
    pass
fcntl.fcntl(w, fcntl.F_SETFL, 0)
t0 = time.time()
try:
    rc = subprocess.run([b, "-c", "zz", "vm"], stderr=w, stdin=subprocess.DEVNULL,
                        timeout=10).returncode
except subprocess.TimeoutExpired:
    rc = "timeout"
dt = time.time() - t0
open(log, "w").write("before\n")
with open(log, "a") as f:
    subprocess.run([b, "-c", "zz", "vm"], stderr=f, stdin=subprocess.DEVNULL)
body = open(log).read()
ok = rc == 64 and dt < 2.5 and body.startswith("before\nbhyve: ") and "'zz'" in body
print("ok" if ok else "status %s after %.1f s; file %r" % (rc, dt, body))
PY
)
if [ "$r" = ok ]; then
	echo "PASS: cli/stderr-never-blocks"
else
	echo "FAIL: cli/stderr-never-blocks: $r"
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

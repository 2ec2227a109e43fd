#!/bin/bash
# shellcheck disable=SC2153 # KVER, KERNEL... come from the sourced env file
# Nested test host for end-to-end tests with real guests.
#
# /dev/kvm on the development and CI machines cannot boot a stock Linux kernel
# (see the project notes on the test host).  This script boots a Debian kernel
# under QEMU/TCG with an emulated AMD CPU *with SVM*; inside it kvm-amd gives a
# /dev/kvm on which stock kernels boot.  The machine's whole filesystem is shared
# read-only over virtio-9p, so the project's binaries and the host's tools run
# inside unchanged.
#
#   testhost.sh prepare              download/build the cached images (idempotent)
#   testhost.sh run SCRIPT [ARGS...] run "bash SCRIPT ARGS" inside the test host,
#                                    stream its output, exit with its status
#                                    (124: the run timed out; 125: no status;
#                                    126: the test host's own
#                                    kernel panicked, its CPU triple-faulted,
#                                    it reset by itself or stopped making
#                                    progress, see tests/run.sh)
#   testhost.sh env                  print the path of the env file
#
# Environment:
#   BHYVE_TEST_CACHE        cache dir (default /var/cache/bhyve-linux-test)
#   BHYVE_TESTHOST_TIMEOUT  hard timeout of one run in seconds (default 900)
#   BHYVE_TESTHOST_STALL    stop a run whose script printed nothing for this
#                           many seconds: the test host is wedged (default 300;
#                           0: never)
#   BHYVE_TESTHOST_MEM      test-host memory in MiB (default 4096)
#   BHYVE_TESTHOST_SMP      test-host vCPUs (default 2)
#   BHYVE_TESTHOST_ACCEL    QEMU -accel of the test host (default tcg, i.e.
#                           multi-threaded TCG; tcg,thread=single made the
#                           e2e tier four times slower)
#   BHYVE_TESTHOST_CPU      QEMU -cpu of the test host (default EPYC,+svm,-xsave:
#                           TCG's emulated SVM lets a nested guest's XSETBV
#                           through without the intercept KVM relies on, so
#                           KVM's idea of the guest's XCR0 goes stale and the
#                           guest kernel warns "XSAVE consistency problem";
#                           QEMU's own default CPU has no XSAVE either)
#   BHYVE_TESTHOST_9P_CACHE cache mode of the read-only 9p mount of / (default
#                           loose: much faster; files changed on the host during a
#                           run may then look stale inside)
#   BHYVE_TESTHOST_RUNDIR   host dir shared read-write with the run (default: a
#                           fresh mktemp dir, removed after a successful run
#                           unless BHYVE_TESTHOST_KEEP=1)
#
# Inside the test host the script sees: BHYVE_TESTHOST=1, BHYVE_TEST_CACHE,
# BHYVE_TEST_ENV (the env file), the env file's variables (KVER, KERNEL,
# VMLINUX, GUEST_INITRD, TESTHOST_INITRD, ...) and BHYVE_TEST_RUNDIR (a
# writable dir whose content stays on the host after the run).  The cwd is the
# caller's cwd.  /tmp is a fresh tmpfs (the caller's cwd, the script's
# directory, the cache and the run dir stay visible even when under /tmp).
set -euo pipefail

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$SELF_DIR/$(basename "${BASH_SOURCE[0]}")"
CACHE=${BHYVE_TEST_CACHE:-/var/cache/bhyve-linux-test}
# Bump when the layout of the cache or the initramfs content changes.
FORMAT=3

# Modules of the test host, in insmod order (dependencies first).
TESTHOST_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p irqbypass ccp kvm kvm-amd
tun stp llc bridge veth"
# Modules shipped in the guest initramfs (dependencies are added from modules.dep).
GUEST_MODULES="virtio_pci virtio_blk virtio_net virtio_rng virtio_console virtio_scsi
ahci sd_mod nvme e1000 evdev button 9pnet_virtio 9p"

log() { echo "testhost: $*" >&2; }
die() { echo "testhost: ERROR: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		die "need root to run: $*"
	fi
}

# ensure_pkgs PKG... : install the Debian packages that are missing.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		as_root apt-get update >&2
		as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2
	fi
}

# kernel_pkg : the linux-image-6.1.0-*-amd64 package that linux-image-amd64 depends on.
kernel_pkg() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		as_root apt-get update >&2
		pkg=$(apt-cache depends linux-image-amd64 |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || die "cannot find the kernel package linux-image-amd64 depends on"
	echo "$pkg"
}

# mod_closure MODDIR NAME... : module paths (relative to MODDIR) of NAMEs and of
# everything they depend on, dependencies first, each once.
mod_closure() {
	local moddir=$1; shift
	awk -v want="$*" '
		function norm(s) { sub(/.*\//, "", s); sub(/\.ko.*$/, "", s); gsub(/-/, "_", s); return s }
		function visit(p,   n, i, d) {
			if (p in seen) return
			seen[p] = 1
			n = split(deps[p], d, " ")
			for (i = 1; i <= n; i++) visit(d[i])
			print p
		}
		{ p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; byname[norm(p)] = p }
		END {
			n = split(want, w, /[ \t\n]+/)
			for (i = 1; i <= n; i++) {
				if (w[i] == "") continue
				m = w[i]; gsub(/-/, "_", m)
				if (!(m in byname)) { print "missing module " w[i] > "/dev/stderr"; exit 1 }
				visit(byname[m])
			}
		}' "$moddir/modules.dep"
}

# copy_modules SRCROOT KVER DSTROOT NAME... : copy NAMEs with their dependencies
# and run depmod on the copy.  Prints the ordered module paths.
copy_modules() {
	local src=$1 kver=$2 dst=$3; shift 3
	local moddir="$src/lib/modules/$kver" list p
	list=$(mod_closure "$moddir" "$@")
	for p in $list; do
		mkdir -p "$dst/lib/modules/$kver/$(dirname "$p")"
		cp "$moddir/$p" "$dst/lib/modules/$kver/$p"
	done
	cp "$moddir/modules.order" "$moddir/modules.builtin" "$moddir/modules.builtin.modinfo" \
		"$dst/lib/modules/$kver/"
	depmod -b "$dst" "$kver"
	echo "$list"
}

# install_busybox DSTROOT : busybox-static with all applet links.
install_busybox() {
	local dst=$1 a
	mkdir -p "$dst"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root,mnt}
	cp /bin/busybox "$dst/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$dst/$a" ] || ln -s /bin/busybox "$dst/$a"
	done
}

# install_dynamic DSTROOT BINARY : a host binary with the shared libraries
# it needs (pciutils' lspci, so guests are checked with the real lspci).
install_dynamic() {
	local dst=$1 bin=$2 lib
	mkdir -p "$dst$(dirname "$bin")"
	cp "$bin" "$dst$bin"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$dst$(dirname "$lib")"
		cp -L "$lib" "$dst$lib"
	done
}

make_cpio() { # DIR OUT.gz
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner 0:0 --quiet) |
		gzip -9 >"$2.tmp"
	mv "$2.tmp" "$2"
}

# extract_vmlinux BZIMAGE OUT : uncompressed ELF from the bzImage payload.
extract_vmlinux() {
	local bz=$1 out=$2 ss po pl off magic
	ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
	[ "$ss" = 0 ] && ss=4
	po=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
	pl=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
	off=$(( (ss + 1) * 512 + po ))
	magic=$(od -An -tx1 -j "$off" -N6 "$bz" | tr -d ' \n')
	# The payload ends with the 4-byte uncompressed size (size_append): drop it.
	local dec
	case $magic in
	1f8b*) dec="gzip -dc" ;;
	fd377a585a00) dec="xz -dc" ;;
	28b52ffd*) dec="zstd -dc" ;;
	425a68*) dec="bzip2 -dc" ;;
	5d0000*) dec="xz -dc --format=lzma" ;;
	02214c18*) dec="lz4 -dc" ;;
	*) die "unknown kernel payload compression (magic $magic)" ;;
	esac
	log "extracting vmlinux (payload ${pl}B at $off, $dec)"
	dd if="$bz" bs=64k iflag=skip_bytes,count_bytes skip="$off" count=$((pl - 4)) status=none |
		$dec >"$out.tmp"
	[ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "extracted vmlinux is not an ELF file"
	mv "$out.tmp" "$out"
}

# pvh_note VMLINUX : prints the XEN_ELFNOTE_PHYS32_ENTRY address or "none".
pvh_note() {
	local e
	# readelf -W prints: Xen 0x00000008 Unknown note type: (0x00000012) description data: 50 08 00 01 ...
	e=$(readelf -W -n "$1" 2>/dev/null | awk '
		$1 == "Xen" && /\(0x00000012\)/ {
			sub(/.*description data: */, ""); v = ""
			for (i = NF; i >= 1; i--) v = v $i
			sub(/^0+/, "", v); print "0x" v; exit
		}')
	echo "${e:-none}"
}

write_testhost_init() { # FILE
	cat >"$1" <<'EOF'
#!/bin/sh
# init of the nested test host (generated by tests/e2e/testhost.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
halt_now() { sync; poweroff -f; sleep 5; echo o >/proc/sysrq-trigger; }
for m in $(cat /modules.list); do
	insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null || echo "testhost-init: insmod $m failed"
done
mkdir -p /out /host /hosttmp
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /out; then
	echo "testhost-init: cannot mount the out share"; halt_now
fi
. /out/config
fail() { echo "TESTHOST-ERROR: $*" | tee -a /out/out; echo "$*" >/out/error; halt_now; }
mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=512000,cache=$HOST_CACHE" host /host || fail "cannot mount host / over 9p"
[ -c /dev/kvm ] || fail "/dev/kvm did not appear in the test host (kvm-amd failed to load: $(dmesg | grep -i -E 'kvm|svm' | tail -3))"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -o bind /host/tmp /hosttmp
mount -o rbind /dev /host/dev
mount -o bind /proc /host/proc
mount -o bind /sys /host/sys
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run 2>/dev/null
for p in $PRESERVE; do
	case $p in
	/tmp/*) [ -d "/hosttmp/${p#/tmp/}" ] && mkdir -p "/host$p" && mount -o bind "/hosttmp/${p#/tmp/}" "/host$p" ;;
	esac
done
mkdir -p "/host$RUNDIR" && mount -o bind /out "/host$RUNDIR" || fail "cannot bind the run dir"
hostname testhost
ip link set lo up 2>/dev/null
echo "testhost-init: running $RUNDIR/cmd.sh" >&2
chroot /host /bin/bash "$RUNDIR/cmd.sh" </dev/null >>/out/out 2>&1
echo $? >/out/status
halt_now
EOF
	chmod 755 "$1"
}

write_guest_init() { # FILE
	cat >"$1" <<'EOF'
#!/bin/sh
# init of the test guest (generated by tests/e2e/testhost.sh)
# Kernel parameters:
#   bhyvetest=shell (default)  print BHYVE-GUEST-SHELL, interactive shell on the console;
#                              "reboot -f" when it exits
#   bhyvetest=script           print BHYVE-GUEST-SCRIPT, then with no prompt and no echo
#                              read commands from the console until "exit", then print BHYVE-GUEST-SCRIPT-DONE status=N, reboot -f
#   bhyvetest=reboot|poweroff  reboot -f / poweroff -f right after the marker
#   bhyvemods=a,b,c            modprobe these modules before the marker
#   bhyveacpid=1               run acpid: the ACPI power button powers the guest off
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mode=shell mods= acpi=
for a in $(cat /proc/cmdline); do
	case $a in
	bhyvetest=*) mode=${a#bhyvetest=} ;;
	bhyvemods=*) mods=$(echo "${a#bhyvemods=}" | tr , ' ') ;;
	bhyveacpid=1) acpi=1 ;;
	esac
done
for m in $mods; do modprobe "$m" || echo "BHYVE-GUEST-MODPROBE-FAILED $m"; done
if [ -n "$acpi" ]; then
	modprobe evdev 2>/dev/null; modprobe button 2>/dev/null
	mkdir -p /etc/acpi/PWRF /var/log /var/run
	printf '#!/bin/sh\npoweroff -f\n' >/etc/acpi/PWRF/00000080
	chmod 755 /etc/acpi/PWRF/00000080
	acpid -f -c /etc/acpi -l /dev/null -p /tmp/acpid.pid &
fi
read -r up _ </proc/uptime
echo "BHYVE-GUEST-UP uname=$(uname -r) cpus=$(nproc) uptime=$up"
case $mode in
reboot) reboot -f ;;
poweroff) poweroff -f ;;
script)
	stty -echo 2>/dev/null
	echo "BHYVE-GUEST-SCRIPT"
	sh /proc/self/fd/0 # a script file: not interactive, no prompt
	echo "BHYVE-GUEST-SCRIPT-DONE status=$?"
	reboot -f ;;
*)
	echo "BHYVE-GUEST-SHELL"
	setsid cttyhack sh -i
	reboot -f ;;
esac
sleep 10
echo "BHYVE-GUEST-STILL-ALIVE"
while :; do sleep 3600; done
EOF
	chmod 755 "$1"
}

do_prepare() {
	if [ -n "${BHYVE_TESTHOST:-}" ]; then # inside the test host: read-only cache
		[ -f "$CACHE/env" ] || die "no $CACHE/env"
		return 0
	fi
	ensure_pkgs busybox-static cpio kmod xz-utils zstd binutils pciutils
	# QEMU 10 from bookworm-backports, never the suite's 7.2 (its TCG
	# aborts when a nested guest runs UEFI firmware).
	"$SELF_DIR/../backports.sh" || die "cannot install QEMU from bookworm-backports (tests/backports.sh)"
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	local pkg kver kdir deb stamp want
	pkg=$(kernel_pkg)
	kver=${pkg#linux-image-}
	kdir="$CACHE/kernel-$kver"
	stamp="$kdir.stamp"
	want="format=$FORMAT script=$(sha256sum "$SELF" | cut -c1-16)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$CACHE/env" ]; then
		return 0
	fi
	if [ ! -f "$kdir/boot/vmlinuz-$kver" ]; then
		mkdir -p "$CACHE/debs"
		deb=$(find "$CACHE/debs" -name "${pkg}_*.deb" | head -n1)
		if [ -z "$deb" ]; then
			log "downloading $pkg"
			(cd "$CACHE/debs" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
				die "apt-get download $pkg failed"
			deb=$(find "$CACHE/debs" -name "${pkg}_*.deb" | head -n1)
		fi
		rm -rf "$kdir.tmp"
		dpkg-deb -x "$deb" "$kdir.tmp"
		depmod -b "$kdir.tmp" "$kver"
		rm -rf "$kdir"
		mv "$kdir.tmp" "$kdir"
	fi
	local kernel="$kdir/boot/vmlinuz-$kver" vmlinux="$CACHE/vmlinux-$kver"
	[ -f "$vmlinux" ] || extract_vmlinux "$kernel" "$vmlinux"

	local work
	work=$(mktemp -d "$CACHE/build.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	# test-host initramfs
	install_busybox "$work/th"
	# shellcheck disable=SC2086
	copy_modules "$kdir" "$kver" "$work/th" $TESTHOST_MODULES >"$work/th/modules.list"
	write_testhost_init "$work/th/init"
	make_cpio "$work/th" "$CACHE/testhost-initrd-$kver.gz"
	# guest initramfs
	install_busybox "$work/guest"
	install_dynamic "$work/guest" /usr/bin/lspci
	# shellcheck disable=SC2086
	copy_modules "$kdir" "$kver" "$work/guest" $GUEST_MODULES >/dev/null
	write_guest_init "$work/guest/init"
	make_cpio "$work/guest" "$CACHE/guest-initrd-$kver.gz"
	rm -rf "$work"
	trap - EXIT

	local pvh
	pvh=$(pvh_note "$vmlinux")
	cat >"$CACHE/env.tmp" <<EOF
KVER=$kver
KERNEL=$kernel
VMLINUX=$vmlinux
VMLINUX_PVH_ENTRY=$pvh
GUEST_INITRD=$CACHE/guest-initrd-$kver.gz
TESTHOST_INITRD=$CACHE/testhost-initrd-$kver.gz
MODULES_DIR=$kdir/lib/modules/$kver
EOF
	mv "$CACHE/env.tmp" "$CACHE/env"
	echo "$want" >"$stamp"
	log "prepared kernel $kver (vmlinux PVH entry: $pvh); env file: $CACHE/env"
}

do_run() {
	[ $# -ge 1 ] || die "usage: $0 run SCRIPT [ARGS...]"
	local script
	script=$(realpath "$1"); shift
	[ -f "$script" ] || die "no such script: $script"
	do_prepare
	exec 9>&-
	# shellcheck disable=SC1091
	. "$CACHE/env"

	local rundir keep=${BHYVE_TESTHOST_KEEP:-0}
	if [ -n "${BHYVE_TESTHOST_RUNDIR:-}" ]; then
		mkdir -p "$BHYVE_TESTHOST_RUNDIR"
		rundir=$(realpath "$BHYVE_TESTHOST_RUNDIR")
		keep=1
		rm -f "$rundir/out" "$rundir/status" "$rundir/error" "$rundir/console.log" "$rundir/qemu-reset.log"
	else
		rundir=$(mktemp -d "${TMPDIR:-/tmp}/bhyve-testhost.XXXXXX")
	fi
	case $rundir in *[!A-Za-z0-9_./-]*) die "run dir path must be plain: $rundir" ;; esac
	: >"$rundir/out"
	{
		echo "RUNDIR=$rundir"
		echo "HOST_CACHE=${BHYVE_TESTHOST_9P_CACHE:-loose}"
		printf 'PRESERVE="%s %s %s %s"\n' "$PWD" "$(dirname "$script")" "$SELF_DIR" "$(realpath "$CACHE")"
	} >"$rundir/config"
	{
		echo "# generated by testhost.sh"
		printf 'cd %q || exit 127\n' "$PWD"
		echo "export BHYVE_TESTHOST=1 HOME=/tmp TMPDIR=/tmp"
		printf 'export PATH=%q\n' "$PATH"
		printf 'export BHYVE_TEST_CACHE=%q BHYVE_TEST_ENV=%q BHYVE_TEST_RUNDIR=%q\n' \
			"$(realpath "$CACHE")" "$(realpath "$CACHE")/env" "$rundir"
		printf 'set -a; . %q; set +a\n' "$(realpath "$CACHE")/env"
		printf 'exec /bin/bash %q' "$script"
		[ $# -gt 0 ] && printf ' %q' "$@"
		echo
	} >"$rundir/cmd.sh"

	local timeout=${BHYVE_TESTHOST_TIMEOUT:-900} rc=0 qpid tpid
	log "booting test host ($(qemu-system-x86_64 --version | head -n1), kernel $KVER, -smp ${BHYVE_TESTHOST_SMP:-2}, timeout ${timeout}s, run dir $rundir)"
	timeout --kill-after=10 "$timeout" qemu-system-x86_64 \
		-accel "${BHYVE_TESTHOST_ACCEL:-tcg}" -cpu "${BHYVE_TESTHOST_CPU:-EPYC,+svm,-xsave}" -m "${BHYVE_TESTHOST_MEM:-4096}" -smp "${BHYVE_TESTHOST_SMP:-2}" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-d cpu_reset -D "$rundir/qemu-reset.log" \
		-kernel "$KERNEL" -initrd "$TESTHOST_INITRD" \
		-append "console=ttyS0 panic=-1 softlockup_panic=1 watchdog_thresh=30 quiet loglevel=1" \
		-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$rundir,mount_tag=out,security_model=none" \
		</dev/null >"$rundir/console.log" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid="$qpid" "$rundir/out" &
	tpid=$!
	# shellcheck disable=SC2064
	trap "kill $qpid $tpid 2>/dev/null; exit 130" INT TERM
	# A wedged test host (its CPUs stuck inside the emulated SVM, where
	# not even its own lock-up watchdog runs) prints nothing more: stop it
	# after BHYVE_TESTHOST_STALL seconds without new script output.
	local stall=${BHYVE_TESTHOST_STALL:-300} size last=-1 quiet=0 stalled=0
	while [ "$stall" -gt 0 ] && kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$rundir/out" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size
			quiet=0
		else
			quiet=$((quiet + 5))
		fi
		if [ "$quiet" -ge "$stall" ]; then
			stalled=1
			kill "$qpid" 2>/dev/null
			break
		fi
	done
	wait "$qpid" || rc=$?
	wait "$tpid" || true

	if [ -f "$rundir/error" ]; then
		echo "testhost: ERROR: $(cat "$rundir/error")" >&2
		echo "testhost: console log ($rundir/console.log):" >&2
		tail -n 30 "$rundir/console.log" >&2
		exit 125
	fi
	if [ ! -s "$rundir/status" ]; then
		local code=125
		if [ "$stalled" = 1 ]; then
			echo "testhost: ERROR: no output for ${stall}s: the test host is wedged" >&2
			code=126
		elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "testhost: ERROR: timed out after ${timeout}s" >&2
			code=124
		elif grep -q 'Kernel panic - not syncing' "$rundir/console.log"; then
			echo "testhost: ERROR: the test host's own kernel panicked" >&2
			code=126
		elif grep -q 'Triple fault' "$rundir/qemu-reset.log" 2>/dev/null; then
			echo "testhost: ERROR: the test host's own CPU triple-faulted (QEMU's log: $rundir/qemu-reset.log)" >&2
			code=126
		elif [ "$rc" = 0 ]; then
			# -no-reboot: QEMU ends with status 0 when the test host
			# resets or powers off.  Its init powers off only after
			# writing a status (or an error, above), so the test host
			# went down by itself.
			echo "testhost: ERROR: the test host reset or powered off by itself (qemu status 0) without a script status" >&2
			code=126
		else
			echo "testhost: ERROR: test host ended (qemu status $rc) without a script status" >&2
		fi
		echo "testhost: console log ($rundir/console.log):" >&2
		tail -n 30 "$rundir/console.log" >&2
		exit "$code"
	fi
	local status
	status=$(cat "$rundir/status")
	if [ "$status" = 0 ] && [ "$keep" != 1 ]; then
		rm -rf "$rundir"
	else
		log "script exit status $status; run dir kept: $rundir"
	fi
	exit "$status"
}

case ${1:-} in
prepare) do_prepare ;;
env) do_prepare; echo "$CACHE/env" ;;
run) shift; do_run "$@" ;;
*) echo "usage: $0 prepare | env | run SCRIPT [ARGS...]" >&2; exit 2 ;;
esac

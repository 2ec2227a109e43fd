#!/bin/bash
# The QEMU the benchmarks compare against: Debian bookworm's QEMU 7.2 (the
# version the performance goals are stated against).  The machine's own
# qemu-system-x86 is 10.x from bookworm-backports, which runs the nested
# test host (tests/backports.sh: 7.2's TCG cannot), so 7.2 is not installed
# but unpacked: `apt-get download` of bookworm's newest 7.2 builds of
# qemu-system-x86, qemu-system-common (its modules) and qemu-system-data
# (its option ROMs), `dpkg -x` into a directory of the test cache, which
# the test host sees.  SeaBIOS and iPXE's ROMs are Debian's seabios and
# ipxe-qemu (installed with QEMU 10 already).
#
#   bench/qemu72.sh     prints the path of a wrapper that runs that QEMU 7.2
#                       (same arguments as qemu-system-x86_64); exits
#                       nonzero with a message when it cannot be had
#
# Environment: BENCH_QEMU72_DIR (default /var/cache/bhyve-linux-test/qemu-7.2).
set -euo pipefail
dir=${BENCH_QEMU72_DIR:-/var/cache/bhyve-linux-test/qemu-7.2}
wrapper=$dir/qemu-system-x86_64

if [ -x "$wrapper" ] && "$wrapper" --version 2>/dev/null | grep -q '^QEMU emulator version 7\.2\.'; then
	echo "$wrapper"
	exit 0
fi
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
if [ ! -f /usr/share/seabios/bios-256k.bin ] || [ ! -d /usr/lib/ipxe/qemu ]; then
	$sudo apt-get install -y seabios ipxe-qemu >&2 ||
		{ $sudo apt-get update >&2 && $sudo apt-get install -y seabios ipxe-qemu >&2; }
fi

# newest 7.2 version of a package that apt knows
v72() {
	apt-cache madison "$1" | awk -F ' [|] ' '$2 ~ /^1:7\.2[+~.-]/ { print $2 }' | sort -V | tail -n1
}
pkgs=()
for p in qemu-system-x86 qemu-system-common qemu-system-data; do
	v=$(v72 "$p")
	if [ -z "$v" ]; then
		$sudo apt-get update >&2 || true
		v=$(v72 "$p")
	fi
	[ -n "$v" ] || { echo "qemu72.sh: apt knows no QEMU 7.2 build of $p (bookworm's main suite)" >&2; exit 1; }
	pkgs+=("$p=$v")
done

$sudo mkdir -p "$dir"
tmp=$($sudo mktemp -d "$dir/.new.XXXXXX")
trap '$sudo rm -rf "$tmp"' EXIT
# (apt's sandbox user may not write to the directory: download as we are)
(cd "$tmp" && $sudo apt-get download -o APT::Sandbox::User=root "${pkgs[@]}" >&2) ||
	{ echo "qemu72.sh: apt-get download ${pkgs[*]} failed" >&2; exit 1; }
for deb in "$tmp"/*.deb; do
	$sudo dpkg -x "$deb" "$tmp/root"
done
root=$dir/root
$sudo tee "$tmp/qemu-system-x86_64" >/dev/null <<EOF
#!/bin/sh
# QEMU 7.2 unpacked by bench/qemu72.sh: its own modules and option ROMs
# first, then Debian's SeaBIOS and iPXE.
QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu
export QEMU_MODULE_DIR
exec $root/usr/bin/qemu-system-x86_64 -L $root/usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu "\$@"
EOF
$sudo chmod 755 "$tmp/qemu-system-x86_64"
$sudo rm -rf "$dir/root" "$wrapper"
$sudo mv "$tmp/root" "$dir/root"
$sudo mv "$tmp/qemu-system-x86_64" "$wrapper"
"$wrapper" --version | grep -q '^QEMU emulator version 7\.2\.' ||
	{ echo "qemu72.sh: the unpacked QEMU does not run: $("$wrapper" --version 2>&1 | head -n1)" >&2; exit 1; }
echo "$wrapper"

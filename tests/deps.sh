#!/bin/sh
# Install the Debian packages the build, the demo and the tests need.
set -e
PKGS="gcc make libc6-dev binutils liblzma-dev zlib1g-dev libzstd-dev libmd-dev liburing-dev libslirp-dev \
libcmocka-dev acpica-tools clang python3 busybox-static cpio kmod xz-utils zstd pciutils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
		|| missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing" >&2
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >&2
fi
# QEMU (test host, benchmark comparisons) from bookworm-backports.
"$(dirname "$0")/backports.sh"

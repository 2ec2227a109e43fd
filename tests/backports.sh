#!/bin/sh
# Enable Debian's bookworm-backports suite from the machine's own apt
# sources (same URIs and keyring as the stanza that carries "bookworm";
# never a hard-coded mirror), then install QEMU from it.  The nested test
# host and the benchmark comparisons use that QEMU (10.x): QEMU 7.2's TCG
# aborts when a nested guest runs UEFI firmware (see the README).
set -e
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
want_major=${BHYVE_QEMU_MIN_MAJOR:-10}

have_major() {
	v=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p')
	[ -n "$v" ] && [ "$v" -ge "$want_major" ]
}
have_major && exit 0

dst=/etc/apt/sources.list.d/bhyve-bookworm-backports.sources
if [ ! -f "$dst" ]; then
	# The deb822 stanza (or one-line entry) that names the bookworm suite.
	uris="" keyring=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		stanza=$(awk -v RS= '/(^|\n)Suites:[^\n]*(^| )bookworm( |\n|$)/ { print; exit }' "$f")
		[ -n "$stanza" ] || continue
		uris=$(printf '%s\n' "$stanza" | sed -n 's/^URIs:[[:space:]]*//p')
		keyring=$(printf '%s\n' "$stanza" | sed -n 's/^Signed-By:[[:space:]]*//p')
		break
	done
	if [ -z "$uris" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			uris=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
			[ -n "$uris" ] && break
		done
	fi
	[ -n "$uris" ] || { echo "backports.sh: no apt source for bookworm found to derive bookworm-backports from" >&2; exit 1; }
	{
		echo "Types: deb"
		echo "URIs: $uris"
		echo "Suites: bookworm-backports"
		echo "Components: main"
		[ -n "$keyring" ] && echo "Signed-By: $keyring"
	} | $SUDO tee "$dst.tmp" >/dev/null
	$SUDO mv "$dst.tmp" "$dst"
	echo "backports.sh: added $dst (from the machine's bookworm source)" >&2
fi
$SUDO apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
	-t bookworm-backports qemu-system-x86 >&2
have_major || { echo "backports.sh: qemu-system-x86_64 is still older than $want_major" >&2; exit 1; }

#!/bin/bash
# Runs inside the nested test host (tests/e2e/testhost.sh run): one e2e
# group.  run-group.sh kvm        the kvm tier's tiny guests (tests/kvm/run.sh
#                                 and run.sh --nested), one "PLAN: N" first
#           run-group.sh cli        the command-line tier (tests/cli/run.sh;
#                                 run here when the machine has no /dev/kvm)
#           run-group.sh FILE.py  a Python group (tests/e2e/group-*.py) or
#                                 any Python script run the same way
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$BHYVE_TEST_ENV"
export KERNEL VMLINUX GUEST_INITRD
case ${1:-} in
kvm)
	a=$("$here/../kvm/run.sh" --plan)
	b=$("$here/../kvm/run.sh" --nested --plan)
	echo "PLAN: $((a + b))"
	"$here/../kvm/run.sh" --no-plan
	"$here/../kvm/run.sh" --nested --no-plan
	exit 0 ;;
cli)
	exec "$here/../cli/run.sh" ;;
*.py)
	f=$1; shift
	case $f in /*) ;; *) f=$here/$f ;; esac
	exec python3 "$f" "$@" ;;
*) echo "usage: $0 kvm | cli | FILE.py [ARGS]" >&2; exit 2 ;;
esac

#!/bin/bash
# Runs inside the nested test host (tests/e2e/testhost.sh run): every e2e
# group in ONE boot of the test host (by hand: quicker to start, but a
# test-host crash loses all of them; tests/run.sh boots one per group).
set -u
here=$(cd "$(dirname "$0")" && pwd)
"$here/run-group.sh" kvm
for g in "$here"/group-*.py; do
	"$here/run-group.sh" "$g"
done
exit 0

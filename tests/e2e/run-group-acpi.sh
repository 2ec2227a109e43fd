#!/usr/bin/env bash
# Run only the e2e group "acpi" inside the test host:
#   /work/bin/testhost-slot tests/e2e/testhost.sh run tests/e2e/run-group-acpi.sh
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/group-acpi.py"

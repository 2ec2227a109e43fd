#!/bin/bash
# Run the e2e group "virtio" inside the test host.
cd "$(dirname "$0")" && exec python3 group-virtio.py "$@"

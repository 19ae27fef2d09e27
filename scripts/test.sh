#!/usr/bin/env bash
# The README's test command: set up, build, and run every test (unit, BPF, lab) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd build
ctest --output-on-failure --timeout 600 "$@"

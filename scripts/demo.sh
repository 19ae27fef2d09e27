#!/usr/bin/env bash
# The README's first command: set up and build, then watch vxtrace attribute real drops
# on the built-in lab (network namespaces only; removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec /usr/bin/python3 lab/demo.py

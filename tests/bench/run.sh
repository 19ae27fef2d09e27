#!/usr/bin/env bash
# The README's benchmark command: install, build, and print the table of figures
# (docs/benchmarks.md explains each one). Takes about 3.5 minutes; --quick about 1.
#   bash tests/bench/run.sh [--quick] [--pairs N] [--json FILE] [--markdown FILE]
# VXT_BENCH_BUILD=dir uses (and builds) that build directory instead of running
# scripts/setup.sh, which builds build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${VXT_BENCH_BUILD:-}" ]; then
  build=$VXT_BENCH_BUILD
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target vxtrace vxtrace_blast vxtrace_drain_bench vxtrace_null_probe
else
  bash scripts/setup.sh
  build=build
fi
/usr/bin/python3 tests/bench/selfcheck.py 2>/dev/null || /usr/bin/python3 tests/bench/selfcheck.py
exec /usr/bin/python3 tests/bench/run.py --build "$build" "$@"

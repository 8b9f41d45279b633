#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit, slow and offscreen UI tests).
# Installs missing Debian packages first (scripts/setup.sh). Benchmarks are not tests:
# run them with `build/release/app/mamba-studio-cli bench ...` or `ctest -L bench`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
jobs="$(nproc)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
export QT_QPA_PLATFORM=offscreen
# Short OpenMP spin so OpenBLAS threads are not starved (see mts::ensureThreadingEnvironment).
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-3000}"
ctest --preset release -LE bench -j "$jobs" --output-on-failure "$@"

#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit, slow and offscreen UI tests).
# Installs missing Debian packages first (scripts/setup.sh). Benchmarks are not tests:
# run them with `build/release/app/mamba-studio-cli bench ...` or `ctest -L bench`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# `--cuda [--libtorch DIR]` (first arguments): build core + CLI into build/cuda against a CUDA LibTorch
# (scripts/find-cuda-libtorch.sh) and run its unit tests; the remaining arguments go to ctest.
if [ "${1:-}" = "--cuda" ]; then
  shift; find_args=()
  if [ "${1:-}" = "--libtorch" ]; then find_args=(--libtorch "${2:-}"); shift $(( $# > 1 ? 2 : 1 )); fi
  found="$(bash scripts/find-cuda-libtorch.sh "${find_args[@]}")" || { echo "test.sh --cuda: stopping (no CUDA LibTorch)" >&2; exit 1; }
  cmake --preset core-only -B build/cuda -DCMAKE_PREFIX_PATH="${found#MTS_TORCH_PREFIX=}" >/dev/null
  cmake --build build/cuda -j "$(nproc)"
  ctest --test-dir build/cuda -LE bench -j "$(nproc)" --output-on-failure "$@"
  exit $?
fi
bash scripts/setup.sh
jobs="$(nproc)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
# The house plan's boundary, checked on every run: the tree configures without the studio and
# ingest (what a GPU server with only LibTorch builds), and the ctest core_only_cli runs the CLI
# composed that way (core + benchmarks, from the release build's objects) and checks that it
# loads no Qt, poppler or libgit2. Compiling core a second time would add ~13 min on 2 cores.
cmake --preset core-only >/dev/null
export QT_QPA_PLATFORM=offscreen
# Short OpenMP spin so OpenBLAS threads are not starved (see mts::ensureThreadingEnvironment).
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-3000}"
ctest --preset release -LE bench -j "$jobs" --output-on-failure "$@"

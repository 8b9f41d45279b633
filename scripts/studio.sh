#!/usr/bin/env bash
# Builds the studio (installing missing Debian packages first) and launches it.
# Extra arguments go to mamba-studio.
# GPU build: `scripts/studio.sh --cuda [--libtorch DIR]` builds into build/cuda against an official
# CUDA LibTorch found by scripts/find-cuda-libtorch.sh (Qt, poppler, libgit2 still from the system).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cuda=0; find_args=(); rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda=1; shift ;;
    --libtorch) find_args+=(--libtorch "${2:-}"); shift $(( $# > 1 ? 2 : 1 )) ;;
    *) rest+=("$1"); shift ;;
  esac
done
if [ "$cuda" = 1 ]; then
  # Detection first, so a missing CUDA LibTorch is reported before anything is installed or built.
  found="$(bash scripts/find-cuda-libtorch.sh "${find_args[@]}")" || { echo "studio.sh --cuda: stopping (no CUDA LibTorch)" >&2; exit 1; }
  prefix="${found#MTS_TORCH_PREFIX=}"
  bash scripts/setup.sh
  cmake --preset release -B build/cuda -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build build/cuda -j "$(nproc)" --target mamba-studio mamba-studio-cli
  exec build/cuda/app/mamba-studio "${rest[@]}"
fi
[ "${#find_args[@]}" = 0 ] || { echo "studio.sh: --libtorch needs --cuda" >&2; exit 2; }
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mamba-studio mamba-studio-cli
exec build/release/app/mamba-studio "${rest[@]}"

#!/usr/bin/env bash
# Builds the studio (installing missing Debian packages first) and launches it.
# Extra arguments go to mamba-studio.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mamba-studio mamba-studio-cli
exec build/release/app/mamba-studio "$@"

#!/usr/bin/env bash
# find-cuda-libtorch.sh: locate an official CUDA-enabled LibTorch for `scripts/studio.sh --cuda`.
# Order: (1) --libtorch DIR, (2) Torch_DIR / CMAKE_PREFIX_PATH, (3) python3's torch if it has CUDA
# (torch.utils.cmake_prefix_path). On success prints `MTS_TORCH_PREFIX=<dir>` on stdout (the dir that
# holds share/cmake/Torch/TorchConfig.cmake) and exits 0; otherwise explains what is missing on stderr, exits 1.
# Qt, poppler and libgit2 still come from the system (see scripts/debian-packages.txt).
# Env for tests: MTS_PYTHON (default python3).
set -u
libtorch=""
while [ $# -gt 0 ]; do
  case "$1" in
    --libtorch) libtorch="${2:-}"; shift 2 || { echo "error: --libtorch needs a directory" >&2; exit 2; } ;;
    --libtorch=*) libtorch="${1#--libtorch=}"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
say() { echo "find-cuda-libtorch: $*" >&2; }

# has_torch_config DIR -> echoes the prefix holding share/cmake/Torch/TorchConfig.cmake
torch_prefix() {
  local d="$1"
  for c in "$d" "$d/.." "$d/../.." "$d/../../.."; do
    if [ -f "$c/share/cmake/Torch/TorchConfig.cmake" ]; then (cd "$c" && pwd); return 0; fi
  done
  return 1
}
# has_cuda PREFIX: an official CUDA LibTorch ships libtorch_cuda.so (or c10_cuda).
has_cuda() {
  local p="$1"
  local f
  for f in "$p"/lib/libtorch_cuda*.so* "$p"/lib/libc10_cuda*.so*; do [ -e "$f" ] && return 0; done
  return 1
}
accept() {  # accept SOURCE DIR
  local src="$1" dir="$2" p
  if ! p=$(torch_prefix "$dir"); then say "$src: '$dir' has no share/cmake/Torch/TorchConfig.cmake (not a LibTorch)"; return 1; fi
  if ! has_cuda "$p"; then say "$src: LibTorch at '$p' has no CUDA (no lib/libtorch_cuda.so): CPU-only build"; return 1; fi
  say "found CUDA LibTorch via $src: $p"
  echo "MTS_TORCH_PREFIX=$p"
  exit 0
}

if [ -n "$libtorch" ]; then
  [ -d "$libtorch" ] || { say "--libtorch: '$libtorch' is not a directory"; exit 1; }
  accept "--libtorch" "$libtorch"
  exit 1  # an explicit choice that fails is an error, no fallback
fi
if [ -n "${Torch_DIR:-}" ]; then accept "Torch_DIR" "$Torch_DIR"; fi
if [ -n "${CMAKE_PREFIX_PATH:-}" ]; then
  IFS=':;' read -r -a parts <<< "$CMAKE_PREFIX_PATH"
  for d in "${parts[@]}"; do [ -n "$d" ] && [ -d "$d" ] && accept "CMAKE_PREFIX_PATH" "$d"; done
fi
py="${MTS_PYTHON:-python3}"
if command -v "$py" >/dev/null 2>&1; then
  out=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path); print(int(torch.cuda.is_available() or torch.version.cuda is not None))' 2>/dev/null)
  if [ -z "$out" ]; then
    say "python3: no torch module"
  else
    pdir=$(echo "$out" | sed -n 1p); pcuda=$(echo "$out" | sed -n 2p)
    if [ "$pcuda" != "1" ]; then say "python3: torch at '$pdir' is built without CUDA"; else accept "python3 torch" "$pdir"; fi
  fi
else
  say "python3: not found"
fi
say "no CUDA LibTorch found. Give one with --libtorch DIR (unpacked from pytorch.org, cxx11 ABI),"
say "set Torch_DIR or CMAKE_PREFIX_PATH, or install a CUDA torch for python3."
exit 1

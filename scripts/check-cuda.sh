#!/usr/bin/env bash
# check-cuda.sh: proves on any machine (no GPU needed) that our CUDA kernels compile.
# (1) Installs Debian 12's nvidia-cuda-toolkit (CUDA 11.8, component non-free) and g++-11 (its host
#     compiler) if /usr/bin/nvcc is not 11.8 yet. non-free is enabled ONLY for this install, through a
#     sources file written under build/check-cuda/ and apt options; /etc/apt is never edited.
# (2) Compiles every core/src/kernels/cuda/*.cu for sm_80 and sm_90 with warnings as errors and prints
#     one line per file: "check-cuda: OK <file>" or "check-cuda: FAIL <file>" (+ the compiler output).
# (3) Checks kernels_cuda.cpp (the LibTorch side) for syntax against the system LibTorch headers.
# Exit 0 only when every file compiles. Env: MTS_NVCC (default /usr/bin/nvcc, Debian's), MTS_CUDA_CCBIN
# (default g++-11). Not part of CI (large download); run it by hand: scripts/check-cuda.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/build/check-cuda"
nvcc="${MTS_NVCC:-/usr/bin/nvcc}"
ccbin="${MTS_CUDA_CCBIN:-g++-11}"
mkdir -p "$work"

# (An explicit MTS_NVCC is used as it is: nothing is installed for it.)
if [ -z "${MTS_NVCC:-}" ] && { ! /usr/bin/nvcc --version 2>/dev/null | grep -q 'release 11\.8' ||
                               ! command -v g++-11 >/dev/null; }; then
  echo "check-cuda: installing Debian's nvidia-cuda-toolkit (11.8, non-free) and g++-11 (large download)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  mkdir -p "$work/apt-lists/partial"
  cat >"$work/sources-nonfree.list" <<'SRC'
deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware
deb http://deb.debian.org/debian bookworm-updates main contrib non-free non-free-firmware
deb http://deb.debian.org/debian-security bookworm-security main contrib non-free non-free-firmware
SRC
  opts=(-o "Dir::Etc::SourceList=$work/sources-nonfree.list" -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$work/apt-lists")
  $sudo nice -n 19 apt-get "${opts[@]}" update || { echo "check-cuda: FAIL apt-get update" >&2; exit 1; }
  $sudo env DEBIAN_FRONTEND=noninteractive nice -n 19 apt-get "${opts[@]}" install -y --no-install-recommends \
    nvidia-cuda-toolkit g++-11 || { echo "check-cuda: FAIL installing nvidia-cuda-toolkit" >&2; exit 1; }
fi
# Debian's nvcc finds ptxas / fatbinary through PATH: put Debian's toolkit first, so that another
# CUDA on PATH (/usr/local/cuda) does not do the back end.
[ "$nvcc" != /usr/bin/nvcc ] || export PATH="/usr/lib/nvidia-cuda-toolkit/bin:/usr/bin:/bin:$PATH"
echo "check-cuda: nvcc $("$nvcc" --version | grep -o 'release [0-9.]*, V[0-9.]*'), ptxas $(ptxas --version | grep -o 'release [0-9.]*'), host compiler $("$ccbin" -dumpfullversion)"

flags=(-std=c++17 -O3 -ccbin "$ccbin" -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
       -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
       -I "$root/core/src/kernels/cuda" -I "$root/core/include")
echo "check-cuda: flags: ${flags[*]}"
status=0
for cu in "$root"/core/src/kernels/cuda/*.cu; do
  rel="${cu#"$root"/}"
  if log=$("$nvcc" "${flags[@]}" -c "$cu" -o "$work/$(basename "$cu" .cu).o" 2>&1); then
    echo "check-cuda: OK $rel"
  else
    echo "check-cuda: FAIL $rel"; echo "$log"; status=1
  fi
done
# The LibTorch side (kernels_cuda.cpp) needs a CUDA LibTorch to build; without one it is checked
# for syntax against the system LibTorch's headers (Debian's ship c10/cuda but not its generated
# macros header, stubbed here) and the toolkit's.
torch_inc=/usr/include/torch/csrc/api/include
if [ -d /usr/include/c10/cuda ] && [ -d "$torch_inc" ]; then
  stub="$work/stub/c10/cuda/impl"
  mkdir -p "$stub"
  [ -f /usr/include/c10/cuda/impl/cuda_cmake_macros.h ] ||
    printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$stub/cuda_cmake_macros.h"
  rel=core/src/kernels/cuda/kernels_cuda.cpp
  if log=$("$ccbin" -std=c++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror -D_GLIBCXX_USE_CXX11_ABI=1 \
           -isystem "$work/stub" -isystem "$torch_inc" -I "$root/core/src" -I "$root/core/include" "$root/$rel" 2>&1); then
    echo "check-cuda: OK $rel (syntax, system LibTorch headers)"
  else
    echo "check-cuda: FAIL $rel (syntax, system LibTorch headers)"; echo "$log"; status=1
  fi
else
  echo "check-cuda: SKIP core/src/kernels/cuda/kernels_cuda.cpp (no LibTorch c10/cuda headers in /usr/include)"
fi
exit $status

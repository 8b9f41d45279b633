#!/usr/bin/env bash
# CTest: scripts/find-cuda-libtorch.sh detection order and messages, with fake LibTorch trees.
set -u
script="$1/scripts/find-cuda-libtorch.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fails=0
check() { # check NAME EXPECTED_RC PATTERN_IN_OUTPUT -- command...
  local name="$1" rc_want="$2" pat="$3"; shift 4
  local out rc; out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$rc_want" ] || ! grep -q -- "$pat" <<< "$out"; then
    echo "FAIL $name: rc=$rc (want $rc_want), output:"; echo "$out"; fails=$((fails+1))
  else echo "ok   $name"; fi
}
mk() { mkdir -p "$1/share/cmake/Torch" "$1/lib"; touch "$1/share/cmake/Torch/TorchConfig.cmake"; }
mk "$t/cuda"; touch "$t/cuda/lib/libtorch_cuda.so"
mk "$t/cpu"; touch "$t/cpu/lib/libtorch_cpu.so"
mkdir -p "$t/empty" "$t/bin"
# fake python3: torch without CUDA pointing at the cpu tree / with CUDA at the cuda tree
printf '#!/bin/sh\necho "%s/share/cmake"; echo 0\n' "$t/cpu" > "$t/bin/py_cpu"
printf '#!/bin/sh\necho "%s/share/cmake"; echo 1\n' "$t/cuda" > "$t/bin/py_cuda"
printf '#!/bin/sh\nexit 1\n' > "$t/bin/py_none"
chmod +x "$t/bin/"*
E="env -u Torch_DIR -u CMAKE_PREFIX_PATH"
check "--libtorch cuda" 0 "MTS_TORCH_PREFIX=$t/cuda" -- $E MTS_PYTHON="$t/bin/py_none" "$script" --libtorch "$t/cuda"
check "--libtorch cpu-only says no CUDA" 1 "has no CUDA" -- $E MTS_PYTHON="$t/bin/py_cuda" "$script" --libtorch "$t/cpu"
check "--libtorch not a LibTorch" 1 "not a LibTorch" -- $E MTS_PYTHON="$t/bin/py_cuda" "$script" --libtorch "$t/empty"
check "--libtorch missing dir" 1 "is not a directory" -- $E "$script" --libtorch "$t/nope"
check "Torch_DIR" 0 "via Torch_DIR" -- $E Torch_DIR="$t/cuda/share/cmake/Torch" MTS_PYTHON="$t/bin/py_none" "$script"
check "CMAKE_PREFIX_PATH skips cpu" 0 "via CMAKE_PREFIX_PATH: $t/cuda" -- $E CMAKE_PREFIX_PATH="$t/cpu:$t/cuda" MTS_PYTHON="$t/bin/py_none" "$script"
check "python3 torch with CUDA" 0 "via python3 torch" -- $E MTS_PYTHON="$t/bin/py_cuda" "$script"
check "python3 torch without CUDA" 1 "built without CUDA" -- $E MTS_PYTHON="$t/bin/py_cpu" "$script"
check "nothing found explains" 1 "no CUDA LibTorch found" -- $E MTS_PYTHON="$t/bin/py_none" "$script"
check "python3 missing" 1 "python3: not found" -- $E MTS_PYTHON="$t/bin/definitely-missing" "$script"
check "bad argument" 2 "unknown argument" -- $E "$script" --bogus
# studio.sh --cuda stops at detection (before installing or building) with the reason.
check "studio.sh --cuda without CUDA LibTorch" 1 "stopping (no CUDA LibTorch)" -- $E "$1/scripts/studio.sh" --cuda --libtorch "$t/cpu"
check "studio.sh --libtorch needs --cuda" 2 "needs --cuda" -- $E "$1/scripts/studio.sh" --libtorch "$t/cuda"
check "test.sh --cuda without CUDA LibTorch" 1 "stopping (no CUDA LibTorch)" -- $E "$1/scripts/test.sh" --cuda --libtorch "$t/cpu"
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all find-cuda-libtorch checks passed"

#!/usr/bin/env bash
# gpu-check.sh: THE one script for a GPU session (issue #18). On an H100/H200 machine with CUDA,
# nvcc and python3's torch 2.x (+ transformers), no Qt/poppler/libgit2, no network:
#   build  core-only (mamba-studio-cli, mts_core_tests) against python3's torch, -j$(nproc)
#   scan   (a) the scan / causal-conv / SSD suites on CUDA (fused kernel, chunked, oracle)
#   train  (b) CudaTrainStep.* (CUDA step vs CPU step: fp32, bf16, fp16 + loss scaling),
#              CudaRng.*, CudaMemory.*, GradScaler.*
#   bench  (c) bench scan --device cuda (the kernel alone), then bench train --device cuda: tiny, small, medium; fused vs chunked; bf16 (+ fp16,
#              fp32 once): tokens/s, MFU vs the GPU's bf16 peak, peak memory vs the estimate
#   hf     (d) scripts/check-hf-transformers.py: our HF export in transformers' MambaForCausalLM
# Every step runs under `timeout`, is timed, and a failure never stops the others. Everything
# lands in $OUT/gpu-summary.md (./gpu-out/ when OUT is unset) with the logs beside it.
# Budget: about 12 minutes wall in all (build ~6). Exit 0 when every step passed, else 1.
#
# Usage: scripts/gpu-check.sh [--dry-run] [--only build,scan,train,bench,hf] [--out DIR]
#                             [--build-dir DIR] [--jobs N]
#   --dry-run   print the plan (every command) and write it to the summary; run nothing
#   --only      run only these groups (env is always first); e.g. --only bench,hf on a rerun
#               after the build (the build folder is reused when it exists)
# Env: MTS_PYTHON (default python3), MTS_TORCH_PREFIX (skip asking python3 for torch's cmake path)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$root/gpu-out}"
build="$root/build/gpu-core"
jobs="$(nproc 2>/dev/null || echo 16)"
only="build,scan,train,bench,hf"
dry=0
py="${MTS_PYTHON:-python3}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1; shift ;;
    --only) only="${2:-}"; shift 2 || { echo "gpu-check: --only needs a list" >&2; exit 2; } ;;
    --out) out="${2:-}"; shift 2 || { echo "gpu-check: --out needs a folder" >&2; exit 2; } ;;
    --build-dir) build="${2:-}"; shift 2 || { echo "gpu-check: --build-dir needs a folder" >&2; exit 2; } ;;
    --jobs) jobs="${2:-}"; shift 2 || { echo "gpu-check: --jobs needs a number" >&2; exit 2; } ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for g in ${only//,/ }; do
  case "$g" in build|scan|train|bench|hf) ;; *) echo "gpu-check: --only: unknown group '$g' (build, scan, train, bench, hf)" >&2; exit 2 ;; esac
done
case "$jobs" in ''|*[!0-9]*) echo "gpu-check: --jobs: '$jobs' is not a number" >&2; exit 2 ;; esac
mkdir -p "$out/logs" || { echo "gpu-check: cannot create $out" >&2; exit 2; }
summary="$out/gpu-summary.md"
cli="$build/app/mamba-studio-cli"
tests="$build/tests/mts_core_tests"
t_start=$(date +%s)
failed=0
wanted() { [[ ",$only," == *",$1,"* ]]; }

{
  echo "# gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)  groups: $only  $([ $dry = 1 ] && echo '(dry run: nothing ran)')"
  echo
  echo "| step | result | seconds | log |"
  echo "|---|---|---|---|"
} > "$summary"

# step NAME TIMEOUT_S CMD...: runs CMD under timeout, logs to logs/NAME.log, adds a summary row.
step() {
  local name="$1" limit="$2"; shift 2
  local log="$out/logs/$name.log"
  if [ $dry = 1 ]; then
    printf 'plan: %-28s (timeout %4ss) %s\n' "$name" "$limit" "$*"
    echo "| $name | planned | - | \`$*\` |" >> "$summary"
    return 0
  fi
  echo "gpu-check: [$name] $*" >&2
  local t0 rc dt; t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1; rc=$?
  dt=$(( $(date +%s) - t0 ))
  local res="ok"
  if [ $rc = 124 ] || [ $rc = 137 ]; then res="TIMEOUT (${limit}s)"; elif [ $rc != 0 ]; then res="FAIL (exit $rc)"; fi
  [ "$res" = ok ] || failed=1
  echo "| $name | $res | $dt | logs/$name.log |" >> "$summary"
  echo "gpu-check: [$name] $res in ${dt}s" >&2
  return $rc
}

# ---- env: what the machine has (always) ----
step env-gpu 20 nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
step env-torch 60 "$py" -c 'import importlib.util as u, sys, torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cxx11_abi", torch._C._GLIBCXX_USE_CXX11_ABI, "cmake_prefix_path", torch.utils.cmake_prefix_path); t = u.find_spec("transformers"); print("transformers", __import__("transformers").__version__ if t else "MISSING"); sys.exit(0 if torch.cuda.is_available() else 1)'
step env-nvcc 20 nvcc --version

# ---- build: core-only against python3's torch ----
cuda_arch=""
if [ $dry = 0 ] && command -v nvidia-smi >/dev/null 2>&1; then
  cuda_arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
fi
prefix="${MTS_TORCH_PREFIX:-}"
if [ -z "$prefix" ] && [ $dry = 0 ]; then
  prefix="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
fi
[ -n "$prefix" ] || prefix='$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")'
cmake_args=(--preset core-only -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DMTS_BUILD_TESTS=ON)
# k2's CUDA switch (cmake/MtsCuda.cmake) when this tree has one; else CMake sees CUDA through the LibTorch.
if grep -qs 'MTS_CUDA\b' "$root/CMakeLists.txt" "$root"/cmake/*.cmake "$root/core/CMakeLists.txt"; then
  cmake_args+=(-DMTS_CUDA=ON)
fi
[ -n "$cuda_arch" ] && cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="$cuda_arch")
# The presets use Ninja; without it, Makefiles (a fresh build folder only: a generator cannot change).
command -v ninja >/dev/null 2>&1 || [ -f "$build/CMakeCache.txt" ] || cmake_args+=(-G "Unix Makefiles")
tcal="${cuda_arch:+${cuda_arch:0:1}.${cuda_arch:1}}"  # e.g. 9.0 for Caffe2's CUDA detection
if wanted build; then
  if step configure 180 env TORCH_CUDA_ARCH_LIST="${tcal:-9.0}" cmake "${cmake_args[@]}"; then
    if ! step build 420 cmake --build "$build" -j"$jobs" --target mamba-studio-cli mts_core_tests; then
      # The allocator statistics need the CUDA toolkit's headers: try once without them.
      grep -qs 'CUDACachingAllocator\|cuda_runtime_api' "$out/logs/build.log" &&
        step configure-nostats 120 env TORCH_CUDA_ARCH_LIST="${tcal:-9.0}" cmake "${cmake_args[@]}" \
          -DMTS_CUDA_ALLOCATOR_STATS=OFF &&
        step build-nostats 300 cmake --build "$build" -j"$jobs" --target mamba-studio-cli mts_core_tests
    fi
  fi
fi

# ---- (a) scan / conv suites on CUDA, (b) training step CUDA vs CPU ----
wanted scan && step scan-tests 150 "$tests" --gtest_color=no --gtest_filter='Scan*:CausalConv*:Conv*:Ssd*:FusedOps*'
wanted train && step train-tests 150 "$tests" --gtest_color=no --gtest_filter='CudaTrainStep.*:CudaRng.*:CudaMemory.*:GradScaler.*:CheckpointCudaRng.*'

# ---- (c) bench train on CUDA ----
bench() {  # bench NAME ARGS...
  local name="$1"; shift
  # stdout (the JSON) into bench-NAME.json, stderr into the log
  step "bench-$name" 60 env MTS_JSON_OUT="$out/bench-$name.json" bash -c '"$@" > "$MTS_JSON_OUT"' bench \
    "$cli" -q bench train --device cuda --json --steps 5 --warmup 2 "$@"
}
if wanted bench; then
  # the kernel alone first (k2's bench scan: fused CUDA kernel vs chunked, synchronised timing)
  step bench-scan-cuda 60 "$cli" -q bench scan --device cuda --batch 8 --seq-len 2048 --d-inner 1536
  for p in tiny small medium; do
    b=8; [ $p = medium ] && b=4
    for s in fused chunked; do bench "$p-$s-bf16" --preset $p --seq-len 512 --batch $b --scan $s --dtype bf16; done
  done
  bench small-fused-fp16 --preset small --seq-len 512 --batch 8 --scan fused --dtype fp16
  bench small-fused-fp32 --preset small --seq-len 512 --batch 8 --scan fused --dtype fp32
  bench small-auto-bf16-mamba2 --preset small --arch mamba2 --seq-len 512 --batch 8 --dtype bf16
fi

# ---- (d) our HF export in transformers ----
wanted hf && step hf-transformers 240 "$py" "$root/scripts/check-hf-transformers.py" --cli "$cli" \
  --work "$out/hf-work" --steps 50 --train-device cuda --device cuda

# ---- figures into the summary ----
if [ $dry = 0 ]; then
  {
    echo
    echo "## Figures"
    echo
    grep -h '^\[ figures  \]' "$out/logs/train-tests.log" 2>/dev/null | sed 's/^\[ figures  \] /- /'
    grep -hE '^\[  (PASSED|FAILED|SKIPPED) ' "$out/logs/scan-tests.log" "$out/logs/train-tests.log" 2>/dev/null | sed 's/^/- /'
    echo
    echo "| bench | tokens/s | MFU | peak MiB | estimate MiB (tensors) | loss scale |"
    echo "|---|---|---|---|---|---|"
    for f in "$out"/bench-*.json; do
      [ -f "$f" ] || continue
      "$py" - "$f" <<'PY' 2>/dev/null || echo "| $(basename "$f" .json) | (no JSON: see its log) | | | | |"
import json, sys
j = json.load(open(sys.argv[1])); mib = lambda b: f"{b / 2**20:.0f}" if b is not None and b >= 0 else "?"
print(f"| {sys.argv[1].rsplit('/', 1)[-1][6:-5]} ({j['scan_backend']}, {j['device_name']}) | {j['tokens_per_s']:.0f} "
      f"| {100 * j['mfu']:.1f}% of {j['peak_tflops']:.0f} TFLOPS | {mib(j['peak_memory_bytes'])} "
      f"| {mib(j['estimate_bytes'])} ({mib(j['estimate_tensor_bytes'])}) | {j['loss_scale']} |")
PY
    done
    echo
    echo "bench scan --device cuda:"
    echo '```'
    cat "$out/logs/bench-scan-cuda.log" 2>/dev/null
    echo '```'
    echo
    echo "hf-transformers: $(tail -1 "$out/logs/hf-transformers.log" 2>/dev/null)"
  } >> "$summary"
fi
echo "" >> "$summary"
if [ $dry = 1 ]; then echo "dry run: the plan above, nothing ran" >> "$summary"
else echo "total: $(( $(date +%s) - t_start ))s; $([ $failed = 0 ] && echo 'every step passed' || echo 'some steps FAILED (see the table)')" >> "$summary"; fi
echo "gpu-check: summary in $summary" >&2
[ $dry = 1 ] && cat "$summary"
exit $failed

#!/usr/bin/env bash
# CTest: scripts/gpu-check.sh without a GPU. --dry-run prints the whole plan (every step, the
# core-only build against python3's torch, the four check groups) and writes it to the summary;
# bad arguments are refused; a real run with nothing to run on (fake python, no build) goes
# through every step, never stopping at the first failure, and says so in the summary.
set -u
script="$1/scripts/gpu-check.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails+1)); }
has() { grep -qF -- "$2" "$1"; }

# 1. dry run: the plan, in order, and nothing built
out=$(OUT="$t/dry" MTS_TORCH_PREFIX=/opt/torch "$script" --dry-run 2>&1); rc=$?
[ $rc = 0 ] && ok "dry run exits 0" || bad "dry run exit $rc: $out"
s="$t/dry/gpu-summary.md"
for want in "env-gpu" "configure" "--preset core-only" "-DCMAKE_PREFIX_PATH=/opt/torch" "--target mamba-studio-cli mts_core_tests" \
            "scan-tests" "--gtest_filter=Scan*" "train-tests" "CudaTrainStep.*" \
            "bench-tiny-fused-bf16" "bench-small-chunked-bf16" "bench-medium-fused-bf16" "--device cuda" \
            "--dtype fp16" "hf-transformers" "check-hf-transformers.py" "dry run: the plan above, nothing ran"; do
  has "$s" "$want" && ok "plan has '$want'" || bad "plan lacks '$want'"
done
order=$(grep -oE '^\| (configure|build|scan-tests|train-tests|bench-tiny-fused-bf16|hf-transformers) ' "$s" | tr -d '| ' | paste -sd,)
[ "$order" = "configure,build,scan-tests,train-tests,bench-tiny-fused-bf16,hf-transformers" ] && ok "plan order" || bad "plan order: $order"
[ ! -d "$t/dry/logs" ] || [ -z "$(ls "$t/dry/logs")" ] && ok "dry run ran nothing" || bad "dry run left logs"

# 2. --only: the groups chosen (env always)
OUT="$t/only" "$script" --dry-run --only bench >/dev/null 2>&1
s="$t/only/gpu-summary.md"
has "$s" "bench-small-fused-fp16" && ! has "$s" "| configure " && ! has "$s" "hf-transformers" && has "$s" "env-gpu" \
  && ok "--only bench" || bad "--only bench: $(cat "$s")"

# 3. bad arguments
out=$(OUT="$t/x" "$script" --only build,gpus --dry-run 2>&1); rc=$?
[ $rc = 2 ] && grep -q "unknown group 'gpus'" <<< "$out" && ok "--only bad group" || bad "--only bad group: rc=$rc $out"
out=$(OUT="$t/x" "$script" --frobnicate 2>&1); rc=$?
[ $rc = 2 ] && grep -q "unknown argument '--frobnicate'" <<< "$out" && ok "unknown argument" || bad "unknown argument: rc=$rc $out"
out=$(OUT="$t/x" "$script" --jobs many --dry-run 2>&1); rc=$?
[ $rc = 2 ] && grep -q "not a number" <<< "$out" && ok "--jobs not a number" || bad "--jobs: rc=$rc $out"

# 4. a real run with nothing to run on: every step tried and reported, exit 1
mkdir -p "$t/bin"; printf '#!/bin/sh\necho "fake python: no torch" >&2\nexit 1\n' > "$t/bin/py"; chmod +x "$t/bin/py"
OUT="$t/run" MTS_PYTHON="$t/bin/py" PATH="$t/bin:/usr/bin:/bin" "$script" --only train,hf --build-dir "$t/nobuild" >/dev/null 2>&1; rc=$?
s="$t/run/gpu-summary.md"
[ $rc = 1 ] && ok "failed run exits 1" || bad "failed run exit $rc"
for row in "| env-torch | FAIL" "| train-tests | FAIL" "| hf-transformers | FAIL" "some steps FAILED"; do
  has "$s" "$row" && ok "summary has '$row'" || bad "summary lacks '$row': $(cat "$s")"
done
[ -f "$t/run/logs/hf-transformers.log" ] && ok "each step has its log" || bad "no hf-transformers log"

[ $fails = 0 ] && echo "all passed" || echo "$fails failed"
exit $fails

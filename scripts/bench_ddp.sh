#!/usr/bin/env bash
# Data-parallel benchmark on one machine: 1 rank x 2 threads against 2 ranks x 1 thread (with
# the all-reduce overlapped with backward, and without), at the reference shape of
# `bench train` (d_model 256, 4 layers, sequence 256, 8 rows per step). Prints tokens/s and
# the share of the step spent waiting for the all-reduce after backward ("exposed").
# Usage: scripts/bench_ddp.sh [CLI] [STEPS] [DATA.txt]
set -euo pipefail
CLI=${1:-build/release/app/mamba-studio-cli}
STEPS=${2:-30}
DATA=${3:-/work/shared/data/tinyshakespeare/input.txt}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
COMMON=(train --data "$DATA" --arch mamba --model-preset tiny --set model.d_model=256 --set model.n_layer=4
        --set seq_len=256 --set log_every=1 --set eval_every=0 --set sample_every=0 --set checkpoint_every=0
        --set keep_best=false --set 'device="cpu"' --max-steps "$STEPS" --runs-dir "$TMP")
report() {  # name run-folder
  python3 - "$1" "$2" <<'PY'
import json, sys
name, run = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(run + "/metrics.jsonl") if '"train"' in l]
rows = rows[len(rows) // 3:]  # skip warm-up steps
steps = [b["elapsed_sec"] - a["elapsed_sec"] for a, b in zip(rows, rows[1:])]
toks = [b["tokens"] - a["tokens"] for a, b in zip(rows, rows[1:])]
tps = sum(toks) / sum(steps)
exposed = sum(r.get("allreduce_exposed_sec", 0.0) for r in rows[1:]) / sum(steps)
print(f"{name:34s} {tps:10.0f} tokens/s   exposed all-reduce {100 * exposed:5.1f}% of the step")
PY
}
"$CLI" -q "${COMMON[@]}" --set micro_batch=8 --set threads=2 --name one >/dev/null 2>&1
report "1 rank x 2 threads (batch 8)" "$TMP/one"
"$CLI" -q "${COMMON[@]}" --set micro_batch=4 --set threads=1 --nproc 2 --name two >/dev/null 2>&1
report "2 ranks x 1 thread (4 + 4), overlap" "$TMP/two"
"$CLI" -q "${COMMON[@]}" --set micro_batch=4 --set threads=1 --nproc 2 --dist-no-overlap --name two-seq >/dev/null 2>&1
report "2 ranks x 1 thread, no overlap" "$TMP/two-seq"

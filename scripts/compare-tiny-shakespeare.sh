#!/usr/bin/env bash
# Issue #19's comparison on Tiny Shakespeare: Mamba, Mamba-2, Transformer, sparse MoE, one-layer
# attention and the linear baseline, each sized to the same parameter count (the small-data
# recipe's "compact" size, ~1.8M) and trained for the same budget (10 CPU-minutes each by
# default: ~62 minutes in all) with the small-data recipe, one after the other.
# Writes docs/compare-tiny-shakespeare/ (report.md, SVG plots, runs/). Re-running resumes.
# Run it on a quiet machine: the budget is wall time, so other load changes the result.
#
#   scripts/compare-tiny-shakespeare.sh                       # the suite of the issue
#   BUDGET=2m ARCHS=mamba,transformer scripts/compare-tiny-shakespeare.sh   # a quicker look
#   TRAIN_PRESET=default OUT=/tmp/ts-default scripts/compare-tiny-shakespeare.sh  # without the small-data recipe
#   DROPOUT=preset OUT=/tmp/ts-now scripts/compare-tiny-shakespeare.sh   # the recipe as it is now (dropout 0.15)
# Extra arguments go to `mamba-studio-cli compare` (e.g. --set text_tokenizer=bpe:1024 --params 2000000).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLI="${CLI:-$ROOT/build/release/app/mamba-studio-cli}"
DATA="${DATA:-${MTS_SHARED_DIR:-$ROOT/../shared}/data/tinyshakespeare/input.txt}"
OUT="${OUT:-$ROOT/docs/compare-tiny-shakespeare}"
BUDGET="${BUDGET:-10m}"
ARCHS="${ARCHS:-mamba,mamba2,transformer,moe,linear,attention1}"
TRAIN_PRESET="${TRAIN_PRESET:-small-data}"
MODEL_PRESET="${MODEL_PRESET:-compact}"
MEMORY_TIER="${MEMORY_TIER:-auto}"   # auto: bf16 on a CPU with native bf16, else fp32
THREADS="${THREADS:-2}"
# The committed report in docs/ was trained with dropout 0.1, the recipe's value then; the
# small-data preset now has 0.15 (README, "Small data"). DROPOUT=preset trains with the preset's.
DROPOUT="${DROPOUT:-0.1}"
dropout_set=()
[ "$DROPOUT" = preset ] || dropout_set=(--set "model.dropout=$DROPOUT")
[ -x "$CLI" ] || { echo "error: $CLI not built (cmake --build build/release --target mamba-studio-cli)" >&2; exit 1; }
[ -f "$DATA" ] || { echo "error: $DATA: Tiny Shakespeare not found (set DATA=...)" >&2; exit 1; }
exec "$CLI" --threads "$THREADS" compare --data "$DATA" --archs "$ARCHS" --budget "$BUDGET" --out "$OUT" \
  --model-preset "$MODEL_PRESET" --memory-tier "$MEMORY_TIER" --train-preset "$TRAIN_PRESET" --set val_fraction=0.1 \
  "${dropout_set[@]}" "$@"

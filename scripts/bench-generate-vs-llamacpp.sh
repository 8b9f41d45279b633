#!/usr/bin/env bash
# Decoding speed of the studio (each --weights precision) and of llama.cpp (node-llama-cpp
# 3.21.1, prebuilt CPU build) on the same Mamba model, batch 1, greedy, alternated rounds.
#
#   scripts/bench-generate-vs-llamacpp.sh MODEL_DIR [ROUNDS] [TOKENS]
#
# MODEL_DIR: a Mamba model folder, checkpoint or run (e.g. a Hugging Face mamba-130m-hf folder).
# Needs node and `npm i -E node-llama-cpp@3.21.1` in $NPM_DIR (default /work/npm-scratch).
# The model is exported once per GGUF type (f32, f16, q8_0) into a temporary folder. Each round
# runs every studio precision and every llama.cpp file once, alternating; one line per run.
# Threads: 2 (both). Not part of CI.
set -euo pipefail
MODEL=${1:?usage: $0 MODEL_DIR [ROUNDS] [TOKENS]}
ROUNDS=${2:-3}
TOKENS=${3:-64}
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=${CLI:-$HERE/../build/release/app/mamba-studio-cli}
NPM_DIR=${NPM_DIR:-/work/npm-scratch}
PROMPT=1,2,3,4,5,6,7,8
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
[ -d "$NPM_DIR/node_modules/node-llama-cpp" ] || { echo "no node-llama-cpp in $NPM_DIR (npm i -E node-llama-cpp@3.21.1)" >&2; exit 1; }
cp "$HERE/bench-llamacpp.mjs" "$NPM_DIR/bench-llamacpp.mjs"

for t in f32 f16 q8_0; do "$CLI" -q export --model "$MODEL" --format gguf --dtype $t --out "$TMP/model-$t.gguf" >/dev/null; done

echo "engine weights tokens/s (batch 1, 2 threads, greedy, $TOKENS tokens after the prompt $PROMPT)"
for ((r = 1; r <= ROUNDS; r++)); do
    for w in fp32 bf16 f16 int8; do
        tps=$("$CLI" generate --model "$MODEL" --prompt-ids $PROMPT --print-ids --temperature 0 --ignore-eos \
              --max-new-tokens $TOKENS --weights $w 2>&1 >/dev/null | sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p')
        echo "studio $w $tps"
    done
    for t in f32 f16 q8_0; do
        tps=$(cd "$NPM_DIR" && node bench-llamacpp.mjs "$TMP/model-$t.gguf" --tokens $TOKENS --threads 2 \
              --prompt-ids $PROMPT 2>/dev/null | sed -n 's/.*"tokens_per_second":\([0-9.]*\).*/\1/p')
        echo "llama.cpp $t $tps"
    done
done

#!/usr/bin/env bash
# Issue #17's llama.cpp check for Mamba-2: our GGUF export (llama.cpp's "mamba2" architecture),
# run by llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU build), continues prompts greedily
# exactly as the studio does (`generate --temperature 0`).
#
#   scripts/check-gguf-llamacpp-mamba2.sh [MODEL] [TOKENS]
#
# MODEL: a Mamba-2 model folder, checkpoint or run. Without one, a tiny Mamba-2 is trained for
# STEPS (default 150) steps on DATA (default: Tiny Shakespeare from the shared data folder) into
# a temporary folder first (TRAIN_ARGS adds train options, e.g. "--set model.n_groups=2
# --set model.tie_embeddings=false"). TOKENS: tokens generated per prompt (default 32).
# Each prompt of PROMPTS (space-separated id lists) is continued by the studio (fp32 weights)
# and by llama.cpp from the f32 export: they must be equal (exit 1 otherwise). The f16 and q8_0
# exports are reported too (how many leading tokens agree), not judged: rounded weights may
# legitimately flip a near-tie. Needs node and `npm i -E node-llama-cpp@3.21.1` in $NPM_DIR
# (default /work/npm-scratch). Not part of CI.
set -euo pipefail
MODEL=${1:-}
TOKENS=${2:-32}
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=${CLI:-$HERE/../build/release/app/mamba-studio-cli}
NPM_DIR=${NPM_DIR:-/work/npm-scratch}
DATA=${DATA:-${MTS_SHARED_DIR:-$HERE/../../shared}/data/tinyshakespeare/input.txt}
STEPS=${STEPS:-150}
THREADS=${THREADS:-2}
# "First Citizen:", "ROMEO:\n", "The king" as bytes, and a run of arbitrary ids.
PROMPTS=${PROMPTS:-"70,105,114,115,116,32,67,105,116,105,122,101,110,58 82,79,77,69,79,58,10 84,104,101,32,107,105,110,103 1,2,3,4,5,6,7,8"}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[ -x "$CLI" ] || { echo "error: $CLI not built (cmake --build build/release --target mamba-studio-cli)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node is not installed" >&2; exit 1; }
[ -d "$NPM_DIR/node_modules/node-llama-cpp" ] || { echo "error: no node-llama-cpp in $NPM_DIR (npm i -E node-llama-cpp@3.21.1)" >&2; exit 1; }
cp "$HERE/llamacpp-greedy.mjs" "$NPM_DIR/llamacpp-greedy.mjs"

if [ -z "$MODEL" ]; then
    [ -f "$DATA" ] || { echo "error: $DATA not found (set DATA=... or give a MODEL)" >&2; exit 1; }
    echo "training a tiny Mamba-2 for $STEPS steps on $DATA ..."
    "$CLI" -q --threads "$THREADS" train --data "$DATA" --arch mamba2 --model-preset tiny --max-steps "$STEPS" \
        --runs-dir "$TMP/runs" --name mamba2-gguf-check ${TRAIN_ARGS:-} >/dev/null
    MODEL=$TMP/runs/mamba2-gguf-check
fi

for t in f32 f16 q8_0; do
    "$CLI" -q export --model "$MODEL" --format gguf --dtype $t --out "$TMP/model-$t.gguf" >/dev/null
done

# Leading tokens two comma-separated id lists agree on.
agree() {
    local IFS=,
    local -a a=($1) b=($2)
    local n=0
    while [ $n -lt ${#a[@]} ] && [ $n -lt ${#b[@]} ] && [ "${a[$n]}" = "${b[$n]}" ]; do n=$((n + 1)); done
    echo $n
}

fail=0
for prompt in $PROMPTS; do
    ours=$("$CLI" -q --threads "$THREADS" generate --model "$MODEL" --prompt-ids "$prompt" --print-ids --temperature 0 \
           --ignore-eos --max-new-tokens "$TOKENS" --weights fp32 2>/dev/null | tr -d ' \n')
    echo "prompt $prompt"
    echo "  studio fp32     $ours"
    for t in f32 f16 q8_0; do
        theirs=$(cd "$NPM_DIR" && node llamacpp-greedy.mjs "$TMP/model-$t.gguf" --prompt-ids "$prompt" \
                 --tokens "$TOKENS" --threads "$THREADS" 2>/dev/null |
                 sed -n 's/.*"ids":\[\([0-9,]*\)\].*/\1/p')
        n=$(agree "$ours" "$theirs")
        printf '  llama.cpp %-5s %s  (%s/%s leading tokens agree)\n' "$t" "$theirs" "$n" "$TOKENS"
        if [ "$t" = f32 ] && [ "$theirs" != "$ours" ]; then fail=1; fi
    done
done
if [ $fail -ne 0 ]; then
    echo "FAIL: llama.cpp's greedy continuation of the f32 export differs from the studio's" >&2
    exit 1
fi
echo "OK: llama.cpp (f32 GGUF) continues every prompt exactly as the studio does"

#!/usr/bin/env bash
# Issue #17's speed comparison: Mamba-2 vs Mamba-1 vs the Transformer of (about) the same
# parameter count, at the reference shape (d_model 256, byte vocabulary, batch 8) and
# sequence 256 and 2,048, fp32 and bf16; `bench train` runs alternated architecture by
# architecture (the order rotates each round), then the medians and the ratios.
#
#   Mamba-2     256 x 4, d_state 128, head_dim 64 (8 heads), 1 group, chunk 64   ~1.93M parameters
#   Mamba-1     256 x 4, d_state 16                                    ~1.82M
#   Transformer 256 x 2, 4 heads (same parameter count; 256 x 4 would be 3.49M)   ~1.91M
#               (2.17M at seq 2048: its learned position table grows with the sequence)
#
#   scripts/bench-mamba2.sh                     # 3 rounds, seq 256 and 2048, fp32 and bf16
#   ROUNDS=5 SEQS=2048 DTYPES=bf16 CHUNK=128 scripts/bench-mamba2.sh
#   D_STATE=64 SEQS=2048 DTYPES=fp32 scripts/bench-mamba2.sh      # Mamba-2 at the presets' d_state
#   DEVICE=cuda CLI=build/cuda/app/mamba-studio-cli scripts/bench-mamba2.sh   # on a GPU
# Extra arguments go to every `bench train` (e.g. --chunk-size 64, applied to Mamba-2 only).
# Prints one line per run (tokens/s, best step, MFU) and a summary table. Needs python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLI="${CLI:-$ROOT/build/release/app/mamba-studio-cli}"
ROUNDS="${ROUNDS:-3}"
SEQS="${SEQS:-256 2048}"
DTYPES="${DTYPES:-fp32 bf16}"
THREADS="${THREADS:-2}"
CHUNK="${CHUNK:-64}"   # Mamba-2's chunk_size (the presets' value)
D_STATE="${D_STATE:-128}"  # Mamba-2's d_state (the presets use 64; 128 is the published models')
DEVICE="${DEVICE:-cpu}"
[ -x "$CLI" ] || { echo "error: $CLI not built (cmake --build build/release --target mamba-studio-cli)" >&2; exit 1; }
EXTRA=("$@")
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

args_for() {  # arch seq
    case "$1" in
        mamba2) echo "--arch mamba2 --d-model 256 --n-layer 4 --chunk-size $CHUNK --d-state $D_STATE ${EXTRA[*]:-}" ;;
        mamba) echo "--arch mamba --d-model 256 --n-layer 4" ;;
        transformer) echo "--arch transformer --d-model 256 --n-layer 2 --n-head 4" ;;
    esac
}

cat > "$OUT/line.py" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("seq {:5d} {:4s} {:12s} params {:.2f}M  {:9.0f} tokens/s  best step {:9.0f}  MFU {:5.1f}%  peak RSS {:.0f} MiB".format(
    j["shape"]["seq_len"], j["dtype"], j["arch"], j["parameters"] / 1e6, j["tokens_per_s"],
    j["tokens_per_s_best_step"], 100 * j["mfu"], j["peak_rss_mb"]), flush=True)
PY

archs=(mamba2 mamba transformer)
for seq in $SEQS; do
    steps=10; [ "$seq" -ge 1024 ] && steps=4
    for dtype in $DTYPES; do
        for ((r = 0; r < ROUNDS; r++)); do
            for ((i = 0; i < 3; i++)); do
                arch="${archs[$(((i + r) % 3))]}"
                f="$OUT/$seq-$dtype-$arch-$r.json"
                # shellcheck disable=SC2046
                "$CLI" -q --threads "$THREADS" bench train $(args_for "$arch") --device "$DEVICE" --seq-len "$seq" --batch 8 \
                    --steps "$steps" --warmup 1 --dtype "$dtype" --json > "$f"
                python3 "$OUT/line.py" "$f"
            done
        done
    done
done

python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
rows = {}
for f in glob.glob(os.path.join(sys.argv[1], "*-*.json")):
    j = json.load(open(f))
    rows.setdefault((j["shape"]["seq_len"], j["dtype"], j["arch"]), []).append(j)
print("\n| seq | dtype | arch | params | tokens/s (median) | best step (median) | MFU | vs Mamba-1 | vs Transformer |")
print("|---|---|---|---|---|---|---|---|---|")
for (seq, dtype) in sorted({(k[0], k[1]) for k in rows}):
    med = {a: statistics.median(r["tokens_per_s"] for r in rows[(seq, dtype, a)]) for a in ("mamba2", "mamba", "transformer") if (seq, dtype, a) in rows}
    for a in ("mamba2", "mamba", "transformer"):
        if (seq, dtype, a) not in rows: continue
        rs = rows[(seq, dtype, a)]
        best = statistics.median(r["tokens_per_s_best_step"] for r in rs)
        mfu = statistics.median(r["mfu"] for r in rs)
        ratio = lambda b: f"{med[a] / med[b]:.2f}x" if b in med else "-"
        print(f"| {seq} | {dtype} | {a} | {rs[0]['parameters']/1e6:.2f}M | {med[a]:.0f} | {best:.0f} | {100*mfu:.1f}% | {ratio('mamba')} | {ratio('transformer')} |")
PY

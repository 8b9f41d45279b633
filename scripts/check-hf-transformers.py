#!/usr/bin/env python3
"""Our Hugging Face export, loaded by the machine's transformers (MambaForCausalLM), logits compared.

  1. trains a tiny Mamba for --steps steps on a small text (built-in, or --data FILE),
  2. exports it with `mamba-studio-cli export --format hf`,
  3. dumps our logits for --length pseudo-random ids (`generate --dump-logits`, on the CPU, fp32),
  4. loads the export with transformers.MambaForCausalLM (fp32, TF32 off) on --device and compares.

Prints one JSON line (max_abs_diff, the logits' scale, the tolerance, versions) and exits 0 when
max_abs_diff <= --tolerance, 1 when above, 2 when a step could not run (the message says which).
Needs python3 with torch and transformers (not the build machine's: a GPU session's; scripts/gpu-check.sh
runs it). Usage: scripts/check-hf-transformers.py --cli build/core-only/app/mamba-studio-cli --work DIR
"""
import argparse
import json
import os
import random
import subprocess
import sys


def fail(msg, code=2):
    print(json.dumps({"check": "hf-transformers", "pass": False, "error": msg}))
    print(f"check-hf-transformers: {msg}", file=sys.stderr)
    sys.exit(code)


def run(cmd):
    print("check-hf-transformers: $ " + " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"'{' '.join(cmd[1:3])}' failed (exit {r.returncode}): {r.stdout.strip()[-800:]}")
    return r.stdout


TEXT = ("the quick brown fox jumps over the lazy dog. a small model learns a small text by heart.\n"
        "to be or not to be, that is the question. all that glitters is not gold.\n") * 200


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", required=True, help="mamba-studio-cli to use")
    ap.add_argument("--work", required=True, help="folder for the run, the export and the dumps (created)")
    ap.add_argument("--data", help="a .txt file to train on (default: a built-in small text)")
    ap.add_argument("--steps", type=int, default=50, help="training steps before the export (default 50)")
    ap.add_argument("--train-device", default="cpu", choices=["cpu", "cuda"], help="where to train (default cpu)")
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"], help="where transformers runs (default cuda)")
    ap.add_argument("--length", type=int, default=96, help="tokens compared (default 96)")
    ap.add_argument("--tolerance", type=float, default=1e-3, help="max abs logit difference allowed (default 1e-3)")
    a = ap.parse_args()
    if a.steps < 1 or a.length < 1:
        fail("--steps and --length must be at least 1")
    if not os.access(a.cli, os.X_OK):
        fail(f"--cli {a.cli}: not an executable")
    try:
        import torch
        import transformers
        from safetensors.torch import load_file
    except ImportError as e:
        fail(f"python3 lacks a module ({e}): needs torch, transformers and safetensors")
    if not hasattr(transformers, "MambaForCausalLM"):
        fail(f"transformers {transformers.__version__} has no MambaForCausalLM (needs >= 4.39)")
    if a.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: torch sees no CUDA device")

    os.makedirs(a.work, exist_ok=True)
    data = a.data
    if not data:
        data = os.path.join(a.work, "text.txt")
        with open(data, "w") as f:
            f.write(TEXT)
    runs = os.path.join(a.work, "runs")
    run([a.cli, "-q", "train", "--data", data, "--arch", "mamba", "--model-preset", "tiny", "--max-steps",
         str(a.steps), "--runs-dir", runs, "--name", "hf-check", "--set", f"device={a.train_device}",
         "--set", "seq_len=128", "--set", "micro_batch=8", "--set", "eval_every=0", "--set", "sample_every=0",
         "--checkpoint-minutes", "0"])
    run_dir = os.path.join(runs, "hf-check")
    hf_dir = os.path.join(a.work, "hf")
    run([a.cli, "-q", "export", "--model", run_dir, "--format", "hf", "--out", hf_dir])
    with open(os.path.join(hf_dir, "config.json")) as f:
        vocab = int(json.load(f)["vocab_size"])
    rng = random.Random(1234)
    ids = [rng.randrange(vocab) for _ in range(a.length)]
    dump = os.path.join(a.work, "ours.safetensors")
    run([a.cli, "-q", "generate", "--model", run_dir, "--prompt-ids", ",".join(map(str, ids)),
         "--dump-logits", dump])
    ours = load_file(dump)
    if ours["input_ids"].flatten().tolist() != ids:
        fail("the dump's input_ids are not the ids asked for")

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = transformers.MambaForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32).to(a.device).eval()
    with torch.no_grad():
        theirs = model(torch.tensor([ids], device=a.device)).logits.float().cpu()  # (1, L, V_hf)
    mine = ours["logits"].float()  # (1, L, V_ours)
    v = min(theirs.shape[-1], mine.shape[-1])
    diff = (theirs[..., :v] - mine[..., :v]).abs().max().item()
    scale = mine[..., :v].abs().max().item()
    same_argmax = bool((theirs[..., :v].argmax(-1) == mine[..., :v].argmax(-1)).all().item())
    out = {"check": "hf-transformers", "pass": diff <= a.tolerance, "max_abs_diff": diff, "logit_max_abs": scale,
           "tolerance": a.tolerance, "same_argmax_everywhere": same_argmax, "tokens": a.length,
           "vocab_ours": mine.shape[-1], "vocab_hf": theirs.shape[-1], "steps": a.steps, "device": a.device,
           "torch": torch.__version__, "transformers": transformers.__version__,
           "hf_fast_path": bool(getattr(transformers.models.mamba.modeling_mamba, "is_fast_path_available", False))}
    if a.device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(out))
    sys.exit(0 if out["pass"] else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# API check against LibTorch 2.x on a machine that has only Debian 12's LibTorch 1.13:
# compiles (syntax only, no link) every core, CLI and test translation unit of an existing
# build against the headers of Debian trixie's libtorch-dev (2.6), unpacked locally, never
# installed. A machine with a LibTorch 2.x install builds and links for real instead:
#   cmake --preset core-only -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
#
# Usage: scripts/check-libtorch2.sh [BUILD_DIR]     (default build/release; needs its
#        compile_commands.json). MTS_LIBTORCH2_DEB overrides the package URL or file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
deb="${MTS_LIBTORCH2_DEB:-http://deb.debian.org/debian/pool/main/p/pytorch/libtorch-dev_2.6.0+dfsg-7_amd64.deb}"
dest="$root/build/libtorch2-headers"
[ -f "$build/compile_commands.json" ] || { echo "check-libtorch2: no $build/compile_commands.json (build first)" >&2; exit 2; }
if [ ! -d "$dest/usr/include/torch" ]; then
  mkdir -p "$dest"
  pkg="$dest/libtorch-dev.deb"
  if [ -f "$deb" ]; then cp "$deb" "$pkg"; else curl -fsSL -o "$pkg" "$deb"; fi
  dpkg -x "$pkg" "$dest"
fi
version="$(sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' \
  "$dest/usr/include/torch/csrc/api/include/torch/version.h" | paste -sd.)"
echo "check-libtorch2: LibTorch $version headers from $dest"
python3 - "$build/compile_commands.json" "$dest/usr/include" <<'PY'
import json, shlex, subprocess, sys, os
from concurrent.futures import ThreadPoolExecutor
db, inc = sys.argv[1], sys.argv[2]
entries = [e for e in json.load(open(db))
           if any(f"/{d}/" in e["file"] for d in ("core/src", "app/cli", "tests/core", "tests/support"))]
def command(e):
    args, out, skip = shlex.split(e["command"]), [], False
    for a in args:
        if skip: skip = False; continue
        if a in ("-include", "-o"): skip = True; continue   # drop the 1.13 precompiled header
        if a in ("-c", "-Winvalid-pch"): continue
        if a.endswith("/torch/csrc/api/include"):
            out += [inc + "/torch/csrc/api/include", "-isystem", inc]; continue
        out.append(a)
    return [out[0], "-fsyntax-only"] + out[1:]
def run(e):
    p = subprocess.run(command(e), cwd=e["directory"], capture_output=True, text=True)
    return e["file"], p.returncode, p.stderr
failed = 0
with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
    for f, rc, err in ex.map(run, entries):
        if rc:
            failed += 1
            print("FAIL", f); print("\n".join(l for l in err.splitlines() if "error" in l)[:4000])
print(f"check-libtorch2: {len(entries) - failed}/{len(entries)} translation units compile")
sys.exit(1 if failed else 0)
PY

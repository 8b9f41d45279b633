#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/debian-packages.txt that are missing.
# Idempotent: does nothing (and needs no root) when everything is present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "$here/debian-packages.txt" | sed 's/\s*$//' | grep -v '^$')
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#wanted[@]} Debian packages present"
else
  echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LibTorch finds BLAS and LAPACK through Debian's alternatives links. When OpenBLAS's pthread
# build is installed too it wins by priority, and its own thread pool then competes with
# LibTorch's OpenMP pool for the same cores (measured: ~15% slower training steps on 2 cores).
# Point both links at the OpenMP build, and only when they point elsewhere.
arch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)"
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  want="/usr/lib/$arch/openblas-openmp/$lib"
  link="$lib-$arch"
  [ -e "$want" ] || continue
  now="$(update-alternatives --query "$link" 2>/dev/null | sed -n 's/^Value: //p' || true)"
  if [ "$now" != "$want" ]; then
    echo "setup: selecting OpenBLAS (OpenMP) for $lib (was: ${now:-none})"
    # Only speed depends on it: a refusal (no sudo, say) is a warning, not a failed set-up.
    "${sudo_cmd[@]}" update-alternatives --set "$link" "$want" ||
      echo "setup: warning: could not select $want; training will be slower (see README)" >&2
  fi
done

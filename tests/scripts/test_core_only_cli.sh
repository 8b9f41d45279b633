#!/usr/bin/env bash
# CTest: the house plan's boundary. mamba-studio-cli-core-only is the CLI as the core-only preset
# composes it (core + benchmarks, no ingest, no studio); it must run, offer every command but
# ingest, and load neither Qt nor poppler nor libgit2.
set -u
cli="$1"
fails=0
check() { # check NAME CONDITION-RESULT DETAIL
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails+1)); fi
}
help=$("$cli" --help 2>&1); rc=$?
check "--help runs" "$rc" "rc=$rc: $help"
for cmd in train generate compare export bench tokenize info; do
  grep -qE "^ +$cmd( |$)" <<< "$help"; check "offers $cmd" $? "$help"
done
! grep -qE "^ +ingest( |$)" <<< "$help"; check "has no ingest command" $? "$help"
out=$("$cli" ingest /nonexistent --out /nonexistent 2>&1); rc=$?
[ "$rc" != 0 ]; check "ingest is refused" $? "rc=$rc: $out"
# Its own dependencies (readelf: ldd would also list LibTorch's, and Debian's LibTorch reaches
# poppler through GDAL).
libs=$(readelf -d "$cli" 2>&1 | grep NEEDED)
! grep -qiE "libQt6|libpoppler|libgit2" <<< "$libs"; check "links neither Qt, poppler nor libgit2" $? "$(grep -iE 'qt6|poppler|git2' <<< "$libs")"
grep -q "libtorch" <<< "$libs"; check "links LibTorch" $? "$libs"
full=$(readelf -d "$(dirname "$cli")/mamba-studio-cli" 2>&1 | grep NEEDED)
grep -qiE "libpoppler|libgit2" <<< "$full"; check "(the full CLI does link ingest's libraries: the check can fail)" $? "$full"
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }

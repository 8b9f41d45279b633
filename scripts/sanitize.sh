#!/usr/bin/env bash
# Issue #13 item 10: the unit tests under the `asan` (AddressSanitizer + UndefinedBehaviorSanitizer,
# leaks checked) and `tsan` (ThreadSanitizer) presets. Not part of CI (an asan build and run take
# about an hour on 2 cores; tsan longer).
#
#   scripts/sanitize.sh asan|tsan [ctest arguments...]     e.g. scripts/sanitize.sh tsan -R 'SeriesBuffer|Trainer'
#
# Suppressions (tests/sanitizers/*.supp) name only LibTorch's and libgomp's own code, each with
# its reason; a report in our code fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PRESET="${1:?usage: scripts/sanitize.sh asan|tsan [ctest arguments...]}"
shift
case "$PRESET" in asan|tsan) ;; *) echo "error: preset must be asan or tsan, got '$PRESET'" >&2; exit 2 ;; esac
SUPP="$ROOT/tests/sanitizers"
cd "$ROOT"
# With ccache, precompiled headers are off (ccache does not cache them by default); without it
# they stay on, which halves the build. tsan is built at -O1 (what its manual recommends for
# usable stacks) with line tables only: about a third faster to build than -O2 -g.
EXTRA=()
command -v ccache >/dev/null && EXTRA=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON)
[ "$PRESET" = tsan ] && EXTRA+=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
cmake --preset "$PRESET" "${EXTRA[@]}" >/dev/null
cmake --build "build/$PRESET" -j"$(nproc)"
export QT_QPA_PLATFORM=offscreen
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp"
# handle_segv=0: PdfIsolated.* crash the PDF helper child on purpose and check that it died by
# SIGSEGV; ASan's own handler would turn that into "exit 1". Memory errors are still caught.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:handle_segv=0:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
# history_size=7: the longest access history, so the earlier access of a report made inside an
# OpenMP region keeps its stack (with libgomp / LibTorch frames the suppressions then match;
# with the default the stack is lost and the report cannot be told from ours). handle_segv=0
# as for ASan (the deliberately crashing PDF helper must die by SIGSEGV).
# One intra-op thread under TSan: libgomp is not instrumented, so TSan cannot see an OpenMP
# region's barriers and reports every parallel kernel's hand-off as a race; matching those
# reports against the suppressions grows with their number (a tiny training run took minutes
# in __tsan::FindRacyAddress). Our own threads (job threads, the GUI thread, trainer controls,
# the suite's cancel) stay checked; the kernels' data parallelism is checked by asan's run.
[ "$PRESET" = tsan ] && export OMP_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp:report_signal_unsafe=0:history_size=7:handle_segv=0"
# Sanitized tests are 2-20x slower: the slow and bench labels stay out, the rest get 10x the timeout.
ctest --test-dir "build/$PRESET" -LE 'bench|slow' --timeout 3000 -j"$(nproc)" --output-on-failure "$@"

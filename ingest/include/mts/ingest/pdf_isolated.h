#pragma once
// PDF extraction in a child process: poppler runs in `mts-pdf-extract` (a small helper installed
// next to mamba-studio-cli and mamba-studio), under a wall-clock limit and setrlimit limits
// (address space, CPU time, no core dump, no file writes). The helper sends each page's words
// back over a socket pair (pdf_protocol.h); this process checks them and does the layout
// (finishPdf), so the text is the same as extractPdf's. A PDF that hangs, crashes or exhausts
// poppler costs only that file: the result says Timeout, Crashed or OutOfMemory and the caller
// reports it. Cancel kills the child at once (checked every ~20 ms).
//
// The helper is found, in order: PdfHelperOptions::helper, $MTS_PDF_EXTRACT, then
// "mts-pdf-extract" beside the running executable (/proc/self/exe). Missing: HelperFailed
// with a message saying where it was looked for.
//
// Threading: any number of threads may extract at once (one child each). The child runs in its
// own process group (a terminal's Ctrl-C reaches only the parent, which kills it) and dies with
// the parent (PR_SET_PDEATHSIG).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "mts/ingest/pdf_text.h"

namespace mts::ingest {

struct PdfHelperOptions {
    std::filesystem::path helper;     ///< empty: $MTS_PDF_EXTRACT, else beside the executable
    double timeoutSeconds = 120.0;    ///< wall clock per file (covers a helper that sleeps)
    double cpuSeconds = 0.0;          ///< RLIMIT_CPU of the helper; 0 = timeoutSeconds
    uint64_t memoryBytes = 2048ull << 20;  ///< RLIMIT_AS of the helper (not set in sanitizer builds)
};

/// What one helper run cost (for the benchmark): the child's CPU time from wait4().
struct PdfHelperStats {
    double childUserSeconds = 0.0;
    double childSystemSeconds = 0.0;
    uint64_t bytesReceived = 0;
};

/// Extracts `bytes` in a helper process. Never throws for bad input or a failing helper.
/// Adds one to pdfExtractionCount().
PdfExtraction extractPdfIsolated(std::string_view bytes, const std::string& password,
                                 const std::atomic<bool>* cancel, const PdfHelperOptions& options = {},
                                 PdfHelperStats* stats = nullptr);

/// The helper this process would start (see the file comment); empty when none is found.
std::filesystem::path findPdfHelper(const std::filesystem::path& configured = {});

/// Helper processes of this process alive right now (started and not yet reaped).
int pdfHelpersRunning();

}  // namespace mts::ingest

#pragma once
// Ingest: folders, git repositories and single files -> clean UTF-8 documents + a report.
//
// Usage:
//   mts::ingest::IngestOptions opt;
//   opt.sources = {"/home/me/notes", "/home/me/repo", "/home/me/paper.pdf"};
//   std::atomic<bool> cancel{false};
//   opt.cancel = &cancel;                       // set to true from any thread to stop
//   auto result = mts::ingest::ingest(opt,
//       [&](const mts::ingest::Document& d) { writer.add(d); return true; },
//       [&](const mts::ingest::IngestProgress& p) { showProgress(p); });
//   manifest["ingest"] = mts::ingest::toJson(result);
//
// Threading: ingest() blocks the calling thread. Extraction (reading, PDF layout, HTML,
// cleaning) runs on `threads` worker threads; the document sink and the progress callback are
// only ever called on the calling thread, one at a time, and documents arrive in a
// deterministic order (sources in the given order, files sorted by path within a source), so
// the same inputs give the same document stream whatever the thread count.
//
// Memory: documents are streamed; at most a small window of extracted files (a few per worker)
// is held at once, so memory does not grow with the size of the input.
//
// Failure: a bad file never aborts the job: it is listed in IngestResult::skipped with a
// reason (see kSkipReasons in the .cpp and the README). Nonexistent sources are skipped with
// reason "not-found". Only an exception thrown by a callback escapes ingest() (after the
// workers have been joined).
//
// Staying inside: a folder source is read only below its real path. Symbolic links that leave
// it are not followed (unless followLinksOutside), a .git file or link whose repository (or
// object store: commondir, alternates) lies outside is not followed (the folder is read from
// disk instead, reason "git-link-outside"), and a file is read only if it is still the file
// the walk saw (same device and inode, a regular file; otherwise "changed" or "special-file").
// Obvious secrets are skipped unless includeSecrets (reason "secret").
//
// .gitignore: a source folder that is the root of a git repository is read through libgit2
// (tracked files of `revision`, default HEAD; files matching .gitignore are dropped with
// git_ignore_path_is_ignored). Any other folder is walked on disk; inside a repository the
// ignore rules come from libgit2, outside one from our own matcher (gitignore.h) that reads
// the .gitignore files found in the walk.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mts::ingest {

/// What to do with a file whose bytes are not valid UTF-8.
enum class Utf8Policy {
    Repair,  ///< replace each invalid sequence by U+FFFD and count it (default)
    Skip,    ///< skip the file with reason "invalid-utf8"
};

struct IngestOptions {
    std::vector<std::filesystem::path> sources;  ///< folders, files, git repository roots
    std::string revision;           ///< git commit-ish for repository sources ("" = HEAD)
    std::string pdfPassword;        ///< tried on encrypted PDFs (user password)
    uint64_t maxFileBytes = 64ull << 20;  ///< larger files are skipped ("too-large"); bytes
    bool followGitignore = true;    ///< honour .gitignore files (repositories and folders)
    bool useGitTree = true;         ///< repo root -> tracked files at `revision`, not the disk
    bool nearDedup = false;         ///< MinHash near-duplicate removal
    double nearDupThreshold = 0.85; ///< estimated Jaccard similarity of word 5-gram shingles
    Utf8Policy utf8Policy = Utf8Policy::Repair;
    unsigned threads = 0;           ///< extraction workers; 0 = hardware concurrency
    std::filesystem::path cacheDir; ///< re-ingest cache for PDF extraction; empty = off
    const std::atomic<bool>* cancel = nullptr;  ///< polled between files and between PDF pages
    size_t maxListedSkips = 20000;  ///< skips beyond this are only counted, not listed
    /// Follow symbolic links whose real path lies outside the source folder. Off (default):
    /// such links are skipped with reason "symlink-outside" naming the target; links that
    /// stay inside the folder are followed either way.
    bool followLinksOutside = false;
    /// PDFs are read by poppler in a helper process (pdf_isolated.h) with these limits; a PDF
    /// that hangs, crashes or exhausts it is skipped ("pdf-timeout", "pdf-crashed",
    /// "pdf-memory"; "pdf-helper" when the helper is missing) and the ingest goes on.
    double pdfTimeoutSeconds = 120.0;      ///< wall clock per PDF, also its CPU-time limit
    uint64_t pdfMemoryBytes = 2048ull << 20;  ///< address-space limit of the helper
    std::filesystem::path pdfHelper;       ///< empty: $MTS_PDF_EXTRACT or beside the executable
    bool pdfInProcess = false;             ///< run poppler in this process (benchmarks, debugging)
    /// Read files that are obviously secrets (private keys by name or by content, .env files,
    /// credential stores, keychains; see secrets.h). Off (default): skipped, reason "secret".
    bool includeSecrets = false;
};

/// One clean document. text is valid UTF-8, NFC, LF line ends, no control characters
/// other than \n and \t. kind is one of: text, markdown, html, code, config, records, pdf.
struct Document {
    std::string source;   ///< file path (or "<repo>@<commit>:<path>"; "#<n>" suffix for records)
    std::string kind;
    std::string text;
    nlohmann::json meta;  ///< e.g. {"language": "python"}, {"pages": 12}, {"record": 7}
};

struct IngestProgress {
    uint64_t filesDone = 0;
    uint64_t filesTotal = 0;      ///< known after the walk; grows while walking
    uint64_t bytesDone = 0;       ///< input bytes of the files done
    uint64_t bytesTotal = 0;      ///< input bytes of all candidate files
    uint64_t documents = 0;       ///< documents delivered to the sink so far
    std::string currentFile;
    double bytesPerSecond = 0.0;  ///< input bytes per second since start
    double seconds = 0.0;         ///< elapsed
};

struct SkippedFile {
    std::string path;    ///< UTF-8 (bytes that are not UTF-8 are shown as \xNN)
    std::string reason;  ///< short machine-readable reason, e.g. "binary", "encrypted"
    std::string detail;  ///< a sentence for people
};

struct KindStats {
    uint64_t files = 0;
    uint64_t documents = 0;
    uint64_t inputBytes = 0;  ///< bytes of the source files
    uint64_t bytes = 0;       ///< bytes of clean text delivered
};

struct GitSourceInfo {
    std::string path;      ///< repository root as given
    std::string revision;  ///< as asked ("HEAD" when empty)
    std::string commit;    ///< full hex id of the commit read
};

struct IngestResult {
    std::map<std::string, KindStats> kinds;  ///< per Document::kind
    uint64_t filesSeen = 0;       ///< candidate files found (before skips)
    uint64_t filesIngested = 0;   ///< files that gave at least one document
    uint64_t documents = 0;       ///< documents delivered
    uint64_t bytesIn = 0;         ///< input bytes read
    uint64_t bytesOut = 0;        ///< clean text bytes delivered
    std::vector<SkippedFile> skipped;              ///< first maxListedSkips skips
    std::map<std::string, uint64_t> skippedByReason;  ///< all skips counted
    uint64_t exactDuplicates = 0;  ///< documents dropped as exact duplicates
    uint64_t nearDuplicates = 0;   ///< documents dropped by MinHash
    uint64_t utf8RepairedFiles = 0;
    uint64_t utf8Replacements = 0;  ///< invalid sequences replaced by U+FFFD
    uint64_t cacheHits = 0;
    uint64_t pdfExtractions = 0;  ///< PDF files poppler ran on in this job (cache hits not counted)
    std::vector<std::string> warnings;  ///< e.g. poppler messages, cache problems
    std::vector<GitSourceInfo> gitSources;
    bool cancelled = false;
    bool stoppedBySink = false;
    double seconds = 0.0;
};

/// Returns false to stop the ingest early (IngestResult::stoppedBySink).
using DocumentSink = std::function<bool(const Document&)>;
using ProgressCallback = std::function<void(const IngestProgress&)>;

/// Runs the whole job. See the file comment for threading and failure rules.
/// Progress is reported at most every ~100 ms plus once at the end.
IngestResult ingest(const IngestOptions& options, const DocumentSink& sink,
                    const ProgressCallback& progress = {});

/// The report, for the corpus manifest (skipped list, counts, duplicates, git commits, ...).
nlohmann::json toJson(const IngestResult& result);

/// The settings, for the corpus manifest.
nlohmann::json toJson(const IngestOptions& options);

/// What a corpus manifest records about an ingest job, the same whichever front end ran it:
/// {"ingest": toJson(result), "ingest_settings": toJson(options), "sources": the settings'
/// sources, "source_commit": the first git source's commit (only when there is one)}.
nlohmann::json manifestJson(const IngestOptions& options, const IngestResult& result);

/// A source as front ends should pass it: absolute, lexically normal, without a trailing
/// slash. Document names (and so a corpus's split) then depend neither on the working folder
/// nor on how the folder was typed, and the CLI and the studio name the same folder alike.
std::filesystem::path normalizedSource(const std::filesystem::path& source);

/// A path as valid UTF-8 for reports: invalid bytes become "\xNN".
std::string displayPath(const std::filesystem::path& path);

}  // namespace mts::ingest

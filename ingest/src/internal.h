#pragma once
// Internal plumbing shared by walk.cpp, extract.cpp and ingest.cpp (not installed).
#include <functional>
#include <string>
#include <vector>

#include <git2.h>

#include "mts/ingest/extraction_cache.h"
#include "mts/ingest/ingest.h"

namespace mts::ingest::detail {

/// One candidate file found by the walk.
struct FileTask {
    std::string source;  ///< shown in documents and reports (UTF-8)
    std::string name;    ///< file name (UTF-8)
    uint64_t size = 0;   ///< bytes
    int64_t mtime = 0;   ///< seconds since epoch; 0 for git blobs
    std::filesystem::path diskPath;  ///< when read from disk
    uint64_t dev = 0, ino = 0;       ///< identity seen by the walk (disk files); checked on open
    int repo = -1;                   ///< index into WalkOutput::repos when read from git
    git_oid blob{};
};

struct RepoInfo {
    std::filesystem::path root;
    std::string commit;
};

struct WalkOutput {
    std::vector<FileTask> tasks;
    std::vector<RepoInfo> repos;
    std::vector<GitSourceInfo> gitSources;
    std::vector<std::string> warnings;
};

using SkipFn = std::function<void(const std::string& path, const std::string& reason, const std::string& detail)>;

/// Enumerates every source in order (see ingest.h for the git and .gitignore rules).
/// Skips found while walking go to skip(); the cancel flag is polled per folder.
void walkSources(const IngestOptions& options, WalkOutput& out, const SkipFn& skip);

/// Per-thread libgit2 handles (a git_repository must not be shared between threads).
class RepoHandles {
public:
    explicit RepoHandles(const std::vector<RepoInfo>& repos) : m_repos(repos), m_handles(repos.size(), nullptr) {}
    ~RepoHandles();
    RepoHandles(const RepoHandles&) = delete;
    RepoHandles& operator=(const RepoHandles&) = delete;
    git_repository* get(int index);

private:
    const std::vector<RepoInfo>& m_repos;
    std::vector<git_repository*> m_handles;
};

/// What happened to one file.
struct FileOutcome {
    std::string kind;               ///< Document::kind of its documents
    bool skipped = false;
    std::string reason, detail;     ///< when skipped
    std::vector<Document> docs;     ///< when not streamed
    std::vector<std::string> warnings;
    uint64_t utf8Replacements = 0;
    bool cacheHit = false;
    bool pdfExtracted = false;      ///< poppler ran on it (not a cache hit)
    bool deferred = false;          ///< large record file: to be streamed on the delivering thread
    size_t documents = 0;           ///< documents produced
};

/// Record files above this size are streamed on the delivering thread (bounded memory).
constexpr uint64_t kStreamRecordsAbove = 4ull << 20;

/// True when the task is a record file large enough to stream (decided by name and size).
bool shouldStream(const FileTask& task);

/// Reads, detects, extracts and cleans one file. Documents go to emit (return false to
/// stop). Never throws for bad input; an unexpected exception becomes reason "error".
FileOutcome extractFile(const FileTask& task, const IngestOptions& options, RepoHandles& repos,
                        const ExtractionCache& cache, const std::function<bool(Document&&)>& emit);

}  // namespace mts::ingest::detail

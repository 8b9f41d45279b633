// The job: walk, extract on a worker pool, deliver in order with dedup, build the report.
#include "mts/ingest/ingest.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <git2.h>

#include "internal.h"
#include "mts/ingest/dedup.h"
#include "mts/ingest/text_clean.h"

namespace mts::ingest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxWarnings = 1000;

struct GitLibrary {
    GitLibrary() { git_libgit2_init(); }
    ~GitLibrary() { git_libgit2_shutdown(); }
};

class Job {
public:
    Job(const IngestOptions& o, const DocumentSink& sink, const ProgressCallback& progress)
        : m_opt(o), m_sink(sink), m_progress(progress), m_cache(o.cacheDir), m_near(o.nearDupThreshold) {}

    IngestResult run();

private:
    void skip(const std::string& path, const std::string& reason, const std::string& detail) {
        ++m_result.skippedByReason[reason];
        if (m_result.skipped.size() < m_opt.maxListedSkips)
            m_result.skipped.push_back({repairUtf8(path), reason, repairUtf8(detail)});
    }
    void warn(std::string w) {
        // poppler and libgit2 messages may quote raw bytes; the manifest must stay valid UTF-8.
        if (m_result.warnings.size() < kMaxWarnings) m_result.warnings.push_back(repairUtf8(w));
    }
    bool stopRequested() const { return (m_opt.cancel && m_opt.cancel->load()) || m_stop.load(); }
    bool deliver(Document&& doc);  // dedup + sink; false = stop
    void account(const detail::FileTask& task, detail::FileOutcome& outcome, uint64_t delivered);
    void report(const std::string& current, bool force);
    void worker(size_t window);

    const IngestOptions& m_opt;
    const DocumentSink& m_sink;
    const ProgressCallback& m_progress;
    ExtractionCache m_cache;
    ExactDedup m_exact;
    NearDedup m_near;
    IngestResult m_result;
    detail::WalkOutput m_walk;

    // Worker pool state.
    std::mutex m_mutex;
    std::condition_variable m_readyCv, m_spaceCv;
    std::unordered_map<size_t, detail::FileOutcome> m_ready;
    size_t m_next = 0;       // next task index to hand to a worker (guarded by m_mutex)
    size_t m_delivered = 0;  // tasks delivered so far (guarded by m_mutex)
    std::atomic<bool> m_stop{false};

    Clock::time_point m_start = Clock::now(), m_lastReport{};
    IngestProgress m_prog;
    uint64_t m_fileDocs = 0;  // documents delivered for the current file
};

bool Job::deliver(Document&& doc) {
    if (m_exact.seen(doc.text)) {
        ++m_result.exactDuplicates;
        return true;
    }
    if (m_opt.nearDedup && m_near.seen(doc.text)) {
        ++m_result.nearDuplicates;
        return true;
    }
    auto& k = m_result.kinds[doc.kind];
    ++k.documents;
    k.bytes += doc.text.size();
    ++m_result.documents;
    m_result.bytesOut += doc.text.size();
    ++m_fileDocs;
    ++m_prog.documents;
    if (!m_sink(doc)) {
        m_result.stoppedBySink = true;
        m_stop = true;
        return false;
    }
    return true;
}

void Job::account(const detail::FileTask& task, detail::FileOutcome& o, uint64_t delivered) {
    m_result.bytesIn += task.size;
    if (o.pdfExtracted) ++m_result.pdfExtractions;
    for (auto& w : o.warnings) warn(std::move(w));
    if (o.skipped) {
        if (o.reason != "cancelled") skip(task.source, o.reason, o.detail);
        return;
    }
    if (o.utf8Replacements) {
        ++m_result.utf8RepairedFiles;
        m_result.utf8Replacements += o.utf8Replacements;
    }
    if (o.cacheHit) ++m_result.cacheHits;
    if (delivered > 0) {
        ++m_result.filesIngested;
        auto& k = m_result.kinds[o.kind];
        ++k.files;
        k.inputBytes += task.size;
    } else if (o.documents > 0) {
        skip(task.source, "duplicate", "its text duplicates documents seen earlier");
    }
}

void Job::report(const std::string& current, bool force) {
    if (!m_progress) return;
    auto now = Clock::now();
    if (!force && now - m_lastReport < std::chrono::milliseconds(100)) return;
    m_lastReport = now;
    m_prog.currentFile = current;
    m_prog.seconds = std::chrono::duration<double>(now - m_start).count();
    m_prog.bytesPerSecond = m_prog.seconds > 0 ? double(m_prog.bytesDone) / m_prog.seconds : 0.0;
    m_progress(m_prog);
}

void Job::worker(size_t window) {
    detail::RepoHandles repos(m_walk.repos);
    for (;;) {
        size_t i;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_spaceCv.wait(lock, [&] { return m_stop || m_next >= m_walk.tasks.size() || m_next < m_delivered + window; });
            if (m_stop || m_next >= m_walk.tasks.size()) return;
            i = m_next++;
        }
        const detail::FileTask& task = m_walk.tasks[i];
        detail::FileOutcome outcome;
        if (stopRequested()) {
            outcome.skipped = true;
            outcome.reason = "cancelled";
        } else if (detail::shouldStream(task)) {
            outcome.deferred = true;
        } else {
            std::vector<Document> docs;
            outcome = detail::extractFile(task, m_opt, repos, m_cache, [&docs](Document&& d) {
                docs.push_back(std::move(d));
                return true;
            });
            outcome.docs = std::move(docs);
        }
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_ready.emplace(i, std::move(outcome));
        }
        m_readyCv.notify_all();
    }
}

IngestResult Job::run() {
    GitLibrary git;
    if (!m_cache.error().empty()) warn(m_cache.error());
    detail::walkSources(m_opt, m_walk, [this](const std::string& p, const std::string& r, const std::string& d) { skip(p, r, d); });
    m_result.gitSources = m_walk.gitSources;
    for (auto& w : m_walk.warnings) warn(w);
    m_result.filesSeen = m_walk.tasks.size();
    m_prog.filesTotal = m_walk.tasks.size();
    for (const auto& t : m_walk.tasks) m_prog.bytesTotal += t.size;
    report("", true);

    unsigned threads = m_opt.threads ? m_opt.threads : std::max(1u, std::thread::hardware_concurrency());
    const size_t window = std::max<size_t>(4, size_t(threads) * 4);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads && t < m_walk.tasks.size(); ++t) pool.emplace_back([this, window] { worker(window); });

    detail::RepoHandles repos(m_walk.repos);  // for streamed record files, on this thread
    std::exception_ptr error;
    try {
        for (size_t i = 0; i < m_walk.tasks.size(); ++i) {
            detail::FileOutcome outcome;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                while (!m_ready.count(i)) {
                    m_readyCv.wait_for(lock, std::chrono::milliseconds(100));
                    if (!m_ready.count(i)) {
                        lock.unlock();
                        report(m_walk.tasks[i].source, false);
                        lock.lock();
                    }
                }
                outcome = std::move(m_ready[i]);
                m_ready.erase(i);
            }
            const detail::FileTask& task = m_walk.tasks[i];
            if (stopRequested()) break;
            m_fileDocs = 0;
            if (outcome.deferred) {
                outcome = detail::extractFile(task, m_opt, repos, m_cache, [this](Document&& d) { return deliver(std::move(d)); });
            } else {
                for (auto& d : outcome.docs)
                    if (!deliver(std::move(d))) break;
                outcome.docs.clear();
            }
            account(task, outcome, m_fileDocs);
            m_prog.filesDone = i + 1;
            m_prog.bytesDone += task.size;
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_delivered = i + 1;
            }
            m_spaceCv.notify_all();
            report(task.source, false);
            if (stopRequested()) break;
        }
    } catch (...) {
        error = std::current_exception();
    }
    m_stop = true;
    m_spaceCv.notify_all();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
    m_result.cancelled = m_opt.cancel && m_opt.cancel->load();
    m_result.seconds = std::chrono::duration<double>(Clock::now() - m_start).count();
    report("", true);
    return std::move(m_result);
}

}  // namespace

IngestResult ingest(const IngestOptions& options, const DocumentSink& sink, const ProgressCallback& progress) {
    Job job(options, sink, progress);
    return job.run();
}

std::string displayPath(const std::filesystem::path& path) {
    const std::string& s = path.native();
    if (isValidUtf8(s)) return s;
    std::string out;
    // Keep valid sequences, show the rest as \xNN so reports stay valid UTF-8 and unambiguous.
    std::string repaired;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i + 1;
        while (j <= s.size() && j - i <= 4 && !isValidUtf8(std::string_view(s).substr(i, j - i))) ++j;
        if (j <= s.size() && j - i <= 4) {
            out.append(s, i, j - i);
            i = j;
        } else {
            out += fmt::format("\\x{:02X}", static_cast<unsigned char>(s[i]));
            ++i;
        }
    }
    return out;
}

nlohmann::json toJson(const IngestResult& r) {
    using nlohmann::json;
    json kinds = json::object();
    for (const auto& [name, k] : r.kinds)
        kinds[name] = {{"files", k.files}, {"documents", k.documents}, {"input_bytes", k.inputBytes}, {"bytes", k.bytes}};
    json skipped = json::array();
    for (const auto& s : r.skipped) skipped.push_back({{"path", s.path}, {"reason", s.reason}, {"detail", s.detail}});
    json git = json::array();
    for (const auto& g : r.gitSources) git.push_back({{"path", g.path}, {"revision", g.revision}, {"commit", g.commit}});
    uint64_t skippedTotal = 0;
    for (const auto& [_, n] : r.skippedByReason) skippedTotal += n;
    return json{{"files_seen", r.filesSeen},
                {"files_ingested", r.filesIngested},
                {"documents", r.documents},
                {"bytes_in", r.bytesIn},
                {"bytes_out", r.bytesOut},
                {"kinds", kinds},
                {"skipped_total", skippedTotal},
                {"skipped_by_reason", r.skippedByReason},
                {"skipped", skipped},
                {"skipped_not_listed", skippedTotal - r.skipped.size()},
                {"duplicates", {{"exact", r.exactDuplicates}, {"near", r.nearDuplicates}}},
                {"utf8", {{"repaired_files", r.utf8RepairedFiles}, {"replacements", r.utf8Replacements}}},
                {"cache_hits", r.cacheHits},
                {"pdf_extractions", r.pdfExtractions},
                {"warnings", r.warnings},
                {"git", git},
                {"cancelled", r.cancelled},
                {"stopped_by_sink", r.stoppedBySink},
                {"seconds", r.seconds}};
}

nlohmann::json toJson(const IngestOptions& o) {
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& s : o.sources) sources.push_back(displayPath(s));
    return {{"sources", sources},
            {"revision", o.revision.empty() ? "HEAD" : o.revision},
            {"pdf_password_given", !o.pdfPassword.empty()},
            {"max_file_bytes", o.maxFileBytes},
            {"follow_gitignore", o.followGitignore},
            {"use_git_tree", o.useGitTree},
            {"near_dedup", o.nearDedup},
            {"near_dup_threshold", o.nearDupThreshold},
            {"utf8_policy", o.utf8Policy == Utf8Policy::Repair ? "repair" : "skip"},
            {"threads", o.threads},
            {"follow_links_outside", o.followLinksOutside},
            {"include_secrets", o.includeSecrets},
            {"pdf_isolation", o.pdfInProcess ? "in-process" : "helper-process"},
            {"pdf_timeout_seconds", o.pdfTimeoutSeconds},
            {"pdf_memory_bytes", o.pdfMemoryBytes}};
}

std::filesystem::path normalizedSource(const std::filesystem::path& source) {
    std::error_code ec;
    std::filesystem::path p = std::filesystem::absolute(source, ec);
    if (ec) p = source;
    p = p.lexically_normal();
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "dir/" -> "dir"
    return p;
}

nlohmann::json manifestJson(const IngestOptions& options, const IngestResult& result) {
    nlohmann::json m = nlohmann::json::object();
    m["ingest"] = toJson(result);
    m["ingest_settings"] = toJson(options);
    m["sources"] = m["ingest_settings"]["sources"];
    if (!result.gitSources.empty()) m["source_commit"] = result.gitSources.front().commit;
    return m;
}

}  // namespace mts::ingest


// One file -> documents: read, detect, extract by kind, clean.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <xxhash.h>

#include "internal.h"
#include "mts/ingest/config_formats.h"
#include "mts/ingest/detect.h"
#include "mts/ingest/formats.h"
#include "mts/ingest/pdf_isolated.h"
#include "mts/ingest/pdf_text.h"
#include "mts/ingest/secrets.h"
#include "mts/ingest/text_clean.h"

namespace mts::ingest::detail {
namespace {

constexpr size_t kHeadBytes = 8192;
constexpr uint64_t kMaxJsonArrayBytes = 32ull << 20;  // nlohmann needs ~10x the text in memory

// Reads the whole file. Returns false with reason/detail on failure.
bool readTask(const FileTask& t, RepoHandles& repos, std::string& out, std::string& reason, std::string& detail) {
    if (t.repo >= 0) {
        git_repository* repo = repos.get(t.repo);
        git_blob* blob = nullptr;
        if (!repo || git_blob_lookup(&blob, repo, &t.blob) != 0) {
            const git_error* e = git_error_last();
            reason = "unreadable";
            detail = fmt::format("git blob cannot be read: {}", e && e->message ? e->message : "unknown error");
            return false;
        }
        out.assign(static_cast<const char*>(git_blob_rawcontent(blob)), static_cast<size_t>(git_blob_rawsize(blob)));
        git_blob_free(blob);
        return true;
    }
    // O_NONBLOCK: a FIFO put in the file's place must not block the open.
    int fd = ::open(t.diskPath.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        reason = "unreadable";
        detail = std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        reason = "special-file";
        detail = "no longer a regular file (replaced since the folder was listed)";
        return false;
    }
    if (t.ino != 0 && (static_cast<uint64_t>(st.st_dev) != t.dev || static_cast<uint64_t>(st.st_ino) != t.ino)) {
        // Swapped (e.g. for a link leading out of the folder) between the walk and now.
        ::close(fd);
        reason = "changed";
        detail = "replaced by another file since the folder was listed (not read)";
        return false;
    }
    out.clear();
    out.resize(static_cast<size_t>(t.size));
    size_t got = 0;
    for (;;) {
        if (got == out.size()) out.resize(out.size() + 65536);  // file grew since the walk
        ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            reason = "unreadable";
            detail = std::strerror(errno);
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return true;
}

// The first `n` bytes of a file on disk (or fewer); false when it cannot be opened/read.
bool readHead(const std::filesystem::path& path, size_t n, std::string& out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return false;
    }
    out.assign(n, '\0');
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, out.data() + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<size_t>(r);
    }
    ::close(fd);
    out.resize(got);
    return true;
}

FileOutcome skipped(const std::string& reason, const std::string& detail) {
    FileOutcome o;
    o.skipped = true;
    o.reason = reason;
    o.detail = detail;
    return o;
}

CleanOptions cleanOptionsFor(FileClass cls) {
    CleanOptions c;
    if (cls == FileClass::Code || cls == FileClass::Config) c.maxBlankLines = 2;
    return c;
}

}  // namespace

bool shouldStream(const FileTask& task) {
    if (task.size <= kStreamRecordsAbove) return false;
    FileClass c = detectByName(task.name).cls;
    return c == FileClass::JsonLines || c == FileClass::Csv;
}

FileOutcome extractFile(const FileTask& task, const IngestOptions& options, RepoHandles& repos,
                        const ExtractionCache& cache, const std::function<bool(Document&&)>& emit) {
    try {
        Detection byName = detectByName(task.name);
        if (byName.cls == FileClass::Skip && !byName.sniff) return skipped(byName.reason, byName.detail);
        std::string content;
        std::string reason, detail;
        if (byName.cls == FileClass::Skip && task.repo < 0) {
            // Usually binary (.raw, .dat, .bin): look at the head before reading it all.
            std::string head;
            if (readHead(task.diskPath, kHeadBytes, head) && !head.empty()) {
                Detection d = detect(task.name, head);
                if (d.cls == FileClass::Skip) return skipped(d.reason, d.detail);
            }
        }
        if (!readTask(task, repos, content, reason, detail)) return skipped(reason, detail);
        if (content.empty()) return skipped("empty", "file is empty");
        Detection det = detect(task.name, std::string_view(content).substr(0, kHeadBytes));
        if (det.cls == FileClass::Skip) return skipped(det.reason, det.detail);

        FileOutcome o;
        o.kind = kindName(det.cls);
        auto makeDoc = [&](std::string text, nlohmann::json meta, const std::string& source) {
            Document d;
            d.source = source;
            d.kind = o.kind;
            d.text = std::move(text);
            d.meta = std::move(meta);
            ++o.documents;
            return emit(std::move(d));
        };

        if (det.cls == FileClass::Pdf) {
            const uint64_t hash = XXH3_64bits(content.data(), content.size());
            if (auto hit = cache.lookup(task.source, task.size, task.mtime, hash)) {
                o.cacheHit = true;
                for (auto& d : *hit)
                    if (!makeDoc(std::move(d.text), std::move(d.meta), task.source)) break;
                if (o.documents == 0) return skipped("no-text", "no extractable text (cached)");
                return o;
            }
            PdfExtraction pdf;
            if (options.pdfInProcess) {
                pdf = extractPdf(content, options.pdfPassword, options.cancel);
            } else {
                PdfHelperOptions helper;
                helper.helper = options.pdfHelper;
                helper.timeoutSeconds = options.pdfTimeoutSeconds;
                helper.memoryBytes = options.pdfMemoryBytes;
                pdf = extractPdfIsolated(content, options.pdfPassword, options.cancel, helper);
            }
            auto pdfSkipped = [](const std::string& reason, const std::string& why) {
                FileOutcome s = skipped(reason, why);
                s.pdfExtracted = true;
                return s;
            };
            o.pdfExtracted = true;
            switch (pdf.status) {
                case PdfExtraction::Status::Encrypted: return pdfSkipped("encrypted", pdf.detail);
                case PdfExtraction::Status::Damaged: return pdfSkipped("damaged", pdf.detail);
                case PdfExtraction::Status::NoText: return pdfSkipped("no-text", pdf.detail);
                case PdfExtraction::Status::Cancelled: return pdfSkipped("cancelled", "cancelled during extraction");
                case PdfExtraction::Status::Timeout: return pdfSkipped("pdf-timeout", pdf.detail);
                case PdfExtraction::Status::Crashed: return pdfSkipped("pdf-crashed", pdf.detail);
                case PdfExtraction::Status::OutOfMemory: return pdfSkipped("pdf-memory", pdf.detail);
                case PdfExtraction::Status::HelperFailed: return pdfSkipped("pdf-helper", pdf.detail);
                case PdfExtraction::Status::Ok: break;
            }
            for (const auto& m : pdf.messages) o.warnings.push_back(fmt::format("{}: poppler: {}", task.source, m));
            std::string text = cleanText(pdf.text());
            if (text.empty()) return pdfSkipped("no-text", "no text left after cleaning");
            nlohmann::json meta = {{"pages", pdf.pageCount}};
            if (pdf.wasEncrypted) meta["decrypted"] = true;
            if (!pdf.messages.empty()) meta["repaired"] = true;
            cache.store(task.source, task.size, task.mtime, hash, {{text, meta}});
            makeDoc(std::move(text), std::move(meta), task.source);
            return o;
        }

        if (!options.includeSecrets && containsPrivateKey(content))
            return skipped("secret", "holds a private key (a -----BEGIN ... PRIVATE KEY----- block or a PuTTY key); "
                                     "not read (use --include-secrets / \"Include secrets\" to read it)");
        // Text-like files: NULs and invalid UTF-8 over the whole file, not just the head. A file
        // only the content said was text (unknown or ambiguous name) gets no NUL at all.
        const size_t nuls = static_cast<size_t>(std::count(content.begin(), content.end(), '\0'));
        if (det.sniff && nuls > 0)
            return byName.cls == FileClass::Skip
                       ? skipped(byName.reason, fmt::format("{}, and this one holds {} NUL bytes", byName.detail, nuls))
                       : skipped("binary", fmt::format("{} NUL bytes past the first {} bytes (binary data)", nuls, kHeadBytes));
        if (nuls > content.size() / 100)
            return skipped("binary", fmt::format("{} NUL bytes (binary data)", nuls));
        if (!isValidUtf8(content)) {
            if (invalidUtf8Ratio(content) > 0.3)
                return skipped("binary", "mostly invalid UTF-8 (binary data or an unknown encoding)");
            if (options.utf8Policy == Utf8Policy::Skip)
                return skipped("invalid-utf8", "contains invalid UTF-8 (policy: skip)");
            content = repairUtf8(content, &o.utf8Replacements);
        }
        const CleanOptions clean = cleanOptionsFor(det.cls);

        auto emitRecords = [&](auto&& forEach) -> bool {
            o.kind = "records";
            auto st = forEach([&](size_t index, std::string_view text) {
                std::string t = cleanText(isValidUtf8(text) ? std::string(text) : repairUtf8(text));
                if (t.empty()) return true;
                return makeDoc(std::move(t), {{"record", index}}, fmt::format("{}#{}", task.source, index));
            });
            if (!st) return false;
            if (st->badLines)
                o.warnings.push_back(fmt::format("{}: {} records without text skipped", task.source, st->badLines));
            return true;
        };

        switch (det.cls) {
            case FileClass::JsonLines: {
                emitRecords([&](const RecordFn& fn) { return std::optional<RecordStats>(forEachJsonLine(content, fn)); });
                if (o.documents == 0) return skipped("no-text", "no JSON line has a text field");
                return o;
            }
            case FileClass::Json: {
                if (content.size() <= kMaxJsonArrayBytes &&
                    emitRecords([&](const RecordFn& fn) { return forEachJsonArrayRecord(content, fn); })) {
                    if (o.documents == 0) return skipped("no-text", "JSON records without text");
                    return o;
                }
                o.kind = "config";
                det.cls = FileClass::Config;
                break;
            }
            case FileClass::Csv: {
                const char delim = det.language == "tsv" ? '\t' : ',';
                if (emitRecords([&](const RecordFn& fn) { return forEachCsvRecord(content, delim, fn); })) {
                    if (o.documents == 0) return skipped("no-text", "CSV text column is empty");
                    return o;
                }
                o.kind = "config";
                det.cls = FileClass::Config;
                break;
            }
            default: break;
        }

        nlohmann::json meta = nlohmann::json::object();
        if (det.cls == FileClass::Config && isStructuredConfig(det.language)) {
            ConfigResult checked = checkConfig(det.language, content);
            if (!checked.wellFormed)
                return skipped("malformed", fmt::format("not well-formed {}: {}", det.language, checked.error));
            content = std::move(checked.text);
            meta = std::move(checked.meta);
        }
        std::string text;
        if (det.cls == FileClass::Html) {
            text = cleanText(htmlToText(content), clean);
        } else {
            if ((det.cls == FileClass::Code || det.cls == FileClass::Config) && looksMinified(content))
                return skipped("minified", "minified or generated (very long lines)");
            text = cleanText(content, clean);
            if (!det.language.empty()) meta["language"] = det.language;
        }
        if (o.utf8Replacements) meta["utf8_replacements"] = o.utf8Replacements;
        if (text.empty()) return skipped("empty", "no text left after cleaning (whitespace or control characters only)");
        makeDoc(std::move(text), std::move(meta), task.source);
        return o;
    } catch (const std::exception& e) {
        return skipped("error", fmt::format("unexpected error: {}", e.what()));
    }
}

}  // namespace mts::ingest::detail

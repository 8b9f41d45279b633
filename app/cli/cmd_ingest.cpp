// `mamba-studio-cli ingest SRC... --out DIR`: folders, git repositories and files -> a token
// corpus (manifest.json, tokenizer.json, train.bin, val.bin, documents.jsonl).
// stderr: a progress line; stdout: the summary table (or one JSON object with --json).
#ifdef MTS_HAVE_INGEST

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "command.h"
#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/runtime/errors.h"
#include "mts/ingest/ingest.h"

namespace mts::cli {
namespace {

struct IngestCliOptions {
    std::vector<std::string> sources;
    std::string out;
    std::string tokenizer = "byte";
    double valFraction = 0.05;
    double maxFileMb = 64;
    std::string password;
    std::string revision;
    bool nearDedup = false;
    double nearThreshold = 0.85;
    bool noGitignore = false;
    bool workTree = false;
    bool skipInvalidUtf8 = false;
    unsigned threads = 0;
    std::string cacheDir;
    bool overwrite = false;
    bool json = false;
    uint64_t seed = 0;
    bool includeSecrets = false;
    bool followLinksOutside = false;
    double pdfTimeout = 120;
    double pdfMemoryMb = 2048;
    bool pdfInProcess = false;
};

std::atomic<bool> gCancel{false};
void onInterrupt(int) { gCancel = true; }

std::string megabytes(uint64_t bytes) { return fmt::format("{:.1f}", double(bytes) / 1e6); }

std::string shorten(const std::string& s, size_t n) {
    if (s.size() <= n) return s;
    return "..." + s.substr(s.size() - (n - 3));
}

void printSummary(const ingest::IngestResult& r, const CorpusBuildResult& built) {
    const CorpusSummary& s = built.summary;
    std::printf("%-10s %8s %10s %10s %10s %12s %12s\n", "kind", "files", "documents", "MB in", "MB text", "tokens",
                "val tokens");
    for (const auto& [kind, k] : r.kinds) {
        const uint64_t tokens = s.kinds.count(kind) ? s.kinds.at(kind).tokens : 0;
        const uint64_t val = s.kinds.count(kind) ? s.kinds.at(kind).valTokens : 0;
        std::printf("%-10s %8llu %10llu %10s %10s %12llu %12llu\n", kind.c_str(), (unsigned long long)k.files,
                    (unsigned long long)k.documents, megabytes(k.inputBytes).c_str(), megabytes(k.bytes).c_str(),
                    (unsigned long long)tokens, (unsigned long long)val);
    }
    std::printf("%-10s %8llu %10llu %10s %10s %12llu %12llu\n", "total", (unsigned long long)r.filesIngested,
                (unsigned long long)r.documents, megabytes(r.bytesIn).c_str(), megabytes(r.bytesOut).c_str(),
                (unsigned long long)(s.trainTokens + s.valTokens), (unsigned long long)s.valTokens);
    const double all = static_cast<double>(s.trainTokens + s.valTokens);
    std::printf("\nsplit: train %llu tokens (%llu docs), val %llu tokens (%llu docs, %.1f%% of tokens)\n",
                (unsigned long long)s.trainTokens, (unsigned long long)s.trainDocuments,
                (unsigned long long)s.valTokens, (unsigned long long)s.valDocuments,
                all > 0 ? 100.0 * static_cast<double>(s.valTokens) / all : 0.0);
    std::printf("duplicates removed: %llu exact, %llu near; UTF-8 repaired: %llu files (%llu sequences)\n",
                (unsigned long long)r.exactDuplicates, (unsigned long long)r.nearDuplicates,
                (unsigned long long)r.utf8RepairedFiles, (unsigned long long)r.utf8Replacements);
    if (!r.skippedByReason.empty()) {
        std::printf("\nskipped:\n");
        for (const auto& [reason, n] : r.skippedByReason) std::printf("  %-16s %8llu\n", reason.c_str(), (unsigned long long)n);
    }
    for (const auto& g : r.gitSources) std::printf("git: %s @ %s (%s)\n", g.path.c_str(), g.commit.c_str(), g.revision.c_str());
    std::printf("tokenizer: %s, %lld ids\n", built.tokenizerKind.c_str(), (long long)built.vocabSize);
    for (const auto& w : built.warnings) std::printf("warning: %s\n", w.c_str());
    if (!r.warnings.empty()) std::printf("%zu ingest warnings (see manifest.json)\n", r.warnings.size());
    std::printf("corpus: %s  (%.1f s)\n", s.dir.string().c_str(), built.seconds);
}

int runIngest(const IngestCliOptions& o) {
    if (o.valFraction < 0 || o.valFraction >= 1) throw ConfigError("--val-fraction must be in [0, 1)");
    if (o.maxFileMb <= 0) throw ConfigError("--max-file-mb must be positive");
    if (std::filesystem::exists(o.out) && !o.overwrite)
        throw ConfigError(fmt::format("--out {} already exists (use --overwrite to replace it)", o.out));

    ingest::IngestOptions opt;
    // Absolute sources: document names (and so the split) do not depend on the working folder,
    // and match what the studio records for the same folder.
    for (const auto& s : o.sources) opt.sources.push_back(ingest::normalizedSource(s));
    opt.revision = o.revision;
    opt.pdfPassword = o.password;
    opt.maxFileBytes = static_cast<uint64_t>(o.maxFileMb * 1024 * 1024);
    opt.followGitignore = !o.noGitignore;
    opt.useGitTree = !o.workTree;
    opt.nearDedup = o.nearDedup;
    opt.nearDupThreshold = o.nearThreshold;
    opt.utf8Policy = o.skipInvalidUtf8 ? ingest::Utf8Policy::Skip : ingest::Utf8Policy::Repair;
    opt.threads = o.threads;
    opt.cacheDir = o.cacheDir;
    opt.cancel = &gCancel;
    opt.includeSecrets = o.includeSecrets;
    opt.followLinksOutside = o.followLinksOutside;
    if (o.pdfTimeout <= 0) throw ConfigError("--pdf-timeout must be positive");
    if (o.pdfMemoryMb < 64) throw ConfigError("--pdf-memory-mb must be at least 64");
    opt.pdfTimeoutSeconds = o.pdfTimeout;
    opt.pdfMemoryBytes = static_cast<uint64_t>(o.pdfMemoryMb) << 20;
    opt.pdfInProcess = o.pdfInProcess;

    const bool tty = ::isatty(STDERR_FILENO) == 1;
    auto ingestProgress = [&](const ingest::IngestProgress& p) {
        if (!tty) return;
        std::fprintf(stderr, "\r\033[K[%llu/%llu files] %s/%s MB  %.1f MB/s  %llu docs  %s",
                     (unsigned long long)p.filesDone, (unsigned long long)p.filesTotal, megabytes(p.bytesDone).c_str(),
                     megabytes(p.bytesTotal).c_str(), p.bytesPerSecond / 1e6, (unsigned long long)p.documents,
                     shorten(p.currentFile, 50).c_str());
        std::fflush(stderr);
    };
    auto buildProgress = [&](const CorpusBuildProgress& p) {
        if (!tty || p.phase == CorpusBuildPhase::Reading) return;  // ingest's own line covers reading
        if (p.phase == CorpusBuildPhase::TrainingTokenizer)
            std::fprintf(stderr, "\r\033[Ktraining BPE tokenizer: %lld/%lld merges", (long long)p.merges,
                         (long long)p.mergesTotal);
        else
            std::fprintf(stderr, "\r\033[Kwriting: %llu/%llu documents", (unsigned long long)p.documents,
                         (unsigned long long)p.documentsTotal);
        std::fflush(stderr);
    };

    auto previous = std::signal(SIGINT, onInterrupt);
    auto previousTerm = std::signal(SIGTERM, onInterrupt);
    struct Restore {
        void (*a)(int);
        void (*b)(int);
        ~Restore() {
            std::signal(SIGINT, a);
            std::signal(SIGTERM, b);
        }
    } restore{previous, previousTerm};

    CorpusBuildConfig bc;
    bc.outDir = o.out;
    bc.overwrite = o.overwrite;
    for (const auto& s : opt.sources) bc.sources.emplace_back(s);  // never written over or into
    bc.tokenizer = o.tokenizer;
    bc.valFraction = o.valFraction;
    bc.seed = o.seed;
    ingest::IngestResult result;
    const CorpusDocumentSource source = [&](const CorpusDocumentSink& sink) {
        result = ingest::ingest(
            opt, [&](const ingest::Document& d) { return sink({d.source, d.kind, d.text}); }, ingestProgress);
        if (tty) std::fprintf(stderr, "\n");
        if (!result.cancelled && result.documents == 0)
            throw std::runtime_error(fmt::format("no documents found in the sources ({} files seen, {} skipped)",
                                                 result.filesSeen, result.skipped.size()));
        return ingest::manifestJson(opt, result);
    };
    const CorpusBuildResult built = buildCorpus(bc, source, buildProgress, &gCancel);
    if (tty) std::fprintf(stderr, "\n");
    if (built.cancelled) {
        std::fprintf(stderr, "ingest cancelled: no corpus written\n");
        return 130;
    }
    const CorpusSummary& summary = built.summary;
    if (o.json) {
        nlohmann::json j = {{"corpus", summary.dir.string()},
                            {"documents", summary.documents},
                            {"train_tokens", summary.trainTokens},
                            {"val_tokens", summary.valTokens},
                            {"tokenizer", {{"kind", built.tokenizerKind}, {"vocab_size", built.vocabSize}}},
                            {"warnings", built.warnings},
                            {"ingest", ingest::toJson(result)}};
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        printSummary(result, built);
    }
    return 0;
}

void addIngest(CLI::App& app, Runner& run) {
    auto* sub = app.add_subcommand("ingest", "Folders, git repositories and files -> a token corpus");
    auto o = std::make_shared<IngestCliOptions>();
    sub->add_option("sources", o->sources, "Folders, files or git repository roots")->required();
    sub->add_option("--out", o->out, "Corpus folder to create")->required();
    sub->add_option("--tokenizer", o->tokenizer, "byte | bpe:VOCAB (trained on the corpus) | tokenizer.json")
        ->capture_default_str();
    sub->add_option("--val-fraction", o->valFraction, "Share of tokens for validation, drawn from every kind of source")->capture_default_str();
    sub->add_option("--max-file-mb", o->maxFileMb, "Skip files larger than this (MiB)")->capture_default_str();
    sub->add_option("--password", o->password, "Password for encrypted PDFs");
    sub->add_option("--revision", o->revision, "Git revision for repository sources (default HEAD)");
    sub->add_flag("--near-dedup", o->nearDedup, "Also drop near-duplicate documents (MinHash)");
    sub->add_option("--near-threshold", o->nearThreshold, "Similarity for --near-dedup")->capture_default_str();
    sub->add_flag("--no-gitignore", o->noGitignore, "Do not honour .gitignore files");
    sub->add_flag("--work-tree", o->workTree, "Read repository roots from disk, not from the git tree");
    sub->add_flag("--skip-invalid-utf8", o->skipInvalidUtf8, "Skip files with invalid UTF-8 instead of repairing");
    sub->add_option("--ingest-threads", o->threads, "Extraction threads (0 = all cores)");
    sub->add_option("--cache", o->cacheDir, "Cache folder for extracted PDF text (re-ingest)");
    sub->add_option("--seed", o->seed, "Train/val split seed")->capture_default_str();
    sub->add_flag("--overwrite", o->overwrite, "Replace an existing --out folder");
    sub->add_flag("--json", o->json, "Print one JSON object instead of the table");
    sub->add_flag("--include-secrets", o->includeSecrets,
                  "Also read private keys, .env files and credential stores (skipped by default)");
    sub->add_flag("--follow-links-outside", o->followLinksOutside,
                  "Follow symbolic links that lead out of the source folders (skipped by default)");
    sub->add_option("--pdf-timeout", o->pdfTimeout, "Seconds per PDF before its helper process is stopped")
        ->capture_default_str();
    sub->add_option("--pdf-memory-mb", o->pdfMemoryMb, "Memory limit of the PDF helper process (MiB)")
        ->capture_default_str();
    sub->add_flag("--pdf-in-process", o->pdfInProcess,
                  "Read PDFs in this process, without the helper (no time or memory limit)");
    sub->callback([&run, o] { run = [o] { return runIngest(*o); }; });
}

}  // namespace

MTS_CLI_COMMAND(addIngest);

}  // namespace mts::cli

#endif  // MTS_HAVE_INGEST

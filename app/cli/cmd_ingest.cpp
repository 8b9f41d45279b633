// `mamba-studio-cli ingest SRC... --out DIR`: folders, git repositories and files -> a token
// corpus (manifest.json, tokenizer.json, train.bin, val.bin, documents.jsonl).
// stderr: a progress line; stdout: the summary table (or one JSON object with --json).
#ifdef MTS_HAVE_INGEST

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "command.h"
#include "mts/core/corpus/corpus_writer.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"
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
};

std::atomic<bool> gCancel{false};
void onInterrupt(int) { gCancel = true; }

std::string megabytes(uint64_t bytes) { return fmt::format("{:.1f}", double(bytes) / 1e6); }

std::string shorten(const std::string& s, size_t n) {
    if (s.size() <= n) return s;
    return "..." + s.substr(s.size() - (n - 3));
}

// Documents spooled to disk between the BPE training pass and the writing pass, so memory
// stays bounded and ingest runs once. Format: u32 len + bytes for source, kind, text.
class Spool {
public:
    explicit Spool(std::filesystem::path path) : m_path(std::move(path)) {
        m_out.open(m_path, std::ios::binary | std::ios::trunc);
        if (!m_out) throw std::runtime_error(fmt::format("{}: cannot create spool file", m_path.string()));
    }
    ~Spool() {
        std::error_code ec;
        std::filesystem::remove(m_path, ec);
    }
    void write(const ingest::Document& d) {
        for (const std::string* s : {&d.source, &d.kind, &d.text}) {
            uint32_t n = static_cast<uint32_t>(s->size());
            m_out.write(reinterpret_cast<const char*>(&n), 4);
            m_out.write(s->data(), n);
        }
        if (!m_out) throw std::runtime_error(fmt::format("{}: write failed (disk full?)", m_path.string()));
    }
    template <class Fn>
    void replay(Fn&& fn) {
        m_out.close();
        std::ifstream in(m_path, std::ios::binary);
        CorpusDocument doc;
        for (;;) {
            std::string* fields[] = {&doc.source, &doc.kind, &doc.text};
            for (std::string* s : fields) {
                uint32_t n = 0;
                if (!in.read(reinterpret_cast<char*>(&n), 4)) return;
                s->resize(n);
                in.read(s->data(), n);
            }
            fn(std::move(doc));
            doc = CorpusDocument{};
        }
    }

private:
    std::filesystem::path m_path;
    std::ofstream m_out;
};

void printSummary(const ingest::IngestResult& r, const CorpusSummary& s) {
    std::printf("%-10s %8s %10s %10s %10s %12s\n", "kind", "files", "documents", "MB in", "MB text", "tokens");
    for (const auto& [kind, k] : r.kinds) {
        uint64_t tokens = s.kinds.count(kind) ? s.kinds.at(kind).tokens : 0;
        std::printf("%-10s %8llu %10llu %10s %10s %12llu\n", kind.c_str(), (unsigned long long)k.files,
                    (unsigned long long)k.documents, megabytes(k.inputBytes).c_str(), megabytes(k.bytes).c_str(),
                    (unsigned long long)tokens);
    }
    std::printf("%-10s %8llu %10llu %10s %10s %12llu\n", "total", (unsigned long long)r.filesIngested,
                (unsigned long long)r.documents, megabytes(r.bytesIn).c_str(), megabytes(r.bytesOut).c_str(),
                (unsigned long long)(s.trainTokens + s.valTokens));
    std::printf("\nsplit: train %llu tokens (%llu docs), val %llu tokens (%llu docs)\n",
                (unsigned long long)s.trainTokens, (unsigned long long)s.trainDocuments,
                (unsigned long long)s.valTokens, (unsigned long long)s.valDocuments);
    std::printf("duplicates removed: %llu exact, %llu near; UTF-8 repaired: %llu files (%llu sequences)\n",
                (unsigned long long)r.exactDuplicates, (unsigned long long)r.nearDuplicates,
                (unsigned long long)r.utf8RepairedFiles, (unsigned long long)r.utf8Replacements);
    if (!r.skippedByReason.empty()) {
        std::printf("\nskipped:\n");
        for (const auto& [reason, n] : r.skippedByReason) std::printf("  %-16s %8llu\n", reason.c_str(), (unsigned long long)n);
    }
    for (const auto& g : r.gitSources) std::printf("git: %s @ %s (%s)\n", g.path.c_str(), g.commit.c_str(), g.revision.c_str());
    if (!r.warnings.empty()) std::printf("%zu warnings (see manifest.json)\n", r.warnings.size());
    std::printf("corpus: %s  (%.1f s)\n", s.dir.string().c_str(), r.seconds);
}

int runIngest(const IngestCliOptions& o) {
    if (o.valFraction < 0 || o.valFraction >= 1) throw ConfigError("--val-fraction must be in [0, 1)");
    if (o.maxFileMb <= 0) throw ConfigError("--max-file-mb must be positive");
    const std::filesystem::path outDir = o.out;
    if (std::filesystem::exists(outDir) && !o.overwrite)
        throw ConfigError(fmt::format("--out {} already exists (use --overwrite to replace it)", o.out));

    ingest::IngestOptions opt;
    for (const auto& s : o.sources) opt.sources.emplace_back(s);
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

    // Tokenizer: byte, a file, or BPE trained on this corpus (then documents are spooled).
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<BpeTrainer> bpe;
    int64_t bpeVocab = 0;
    if (o.tokenizer == "byte") {
        tokenizer = makeByteTokenizer();
    } else if (o.tokenizer.rfind("bpe:", 0) == 0) {
        try {
            bpeVocab = std::stoll(o.tokenizer.substr(4));
        } catch (const std::exception&) {
            throw ConfigError("--tokenizer bpe:VOCAB needs a number, e.g. bpe:8192");
        }
        if (bpeVocab < 257) throw ConfigError("--tokenizer bpe:VOCAB: VOCAB must be at least 257");
        BpeTrainerConfig bc;
        bc.vocabSize = bpeVocab;
        bc.cancel = &gCancel;
        bpe = std::make_unique<BpeTrainer>(bc);
    } else {
        tokenizer = loadTokenizer(o.tokenizer);
    }

    const bool tty = ::isatty(STDERR_FILENO) == 1;
    auto progress = [&](const ingest::IngestProgress& p) {
        if (!tty) return;
        std::fprintf(stderr, "\r\033[K[%llu/%llu files] %s/%s MB  %.1f MB/s  %llu docs  %s",
                     (unsigned long long)p.filesDone, (unsigned long long)p.filesTotal, megabytes(p.bytesDone).c_str(),
                     megabytes(p.bytesTotal).c_str(), p.bytesPerSecond / 1e6, (unsigned long long)p.documents,
                     shorten(p.currentFile, 50).c_str());
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

    CorpusWriterConfig wc;
    wc.outDir = outDir;
    wc.overwrite = o.overwrite;
    wc.valFraction = o.valFraction;
    wc.seed = o.seed;
    ingest::IngestResult result;
    std::unique_ptr<CorpusWriter> writer;
    std::unique_ptr<Spool> spool;
    if (bpe) {
        std::filesystem::path spoolPath = outDir;
        spoolPath += fmt::format(".spool-{}", ::getpid());
        spool = std::make_unique<Spool>(spoolPath);
        result = ingest::ingest(opt, [&](const ingest::Document& d) {
            bpe->addText(d.text);
            spool->write(d);
            return true;
        }, progress);
    } else {
        writer = std::make_unique<CorpusWriter>(wc, *tokenizer);
        result = ingest::ingest(opt, [&](const ingest::Document& d) {
            writer->add({d.source, d.kind, d.text});
            return true;
        }, progress);
    }
    if (tty) std::fprintf(stderr, "\n");
    if (result.cancelled) {
        if (writer) writer->abort();
        std::fprintf(stderr, "ingest cancelled: no corpus written\n");
        return 130;
    }
    if (result.documents == 0) {
        if (writer) writer->abort();
        throw std::runtime_error(fmt::format("no documents found in the sources ({} files seen, {} skipped)",
                                             result.filesSeen, result.skipped.size()));
    }
    if (bpe) {
        std::fprintf(stderr, "training BPE tokenizer (vocabulary %lld)...\n", (long long)bpeVocab);
        BpeTrainResult tr = bpe->train();
        if (tr.cancelled) {
            std::fprintf(stderr, "ingest cancelled: no corpus written\n");
            return 130;
        }
        for (auto& w : tr.warnings) result.warnings.push_back("bpe: " + w);
        tokenizer = std::move(tr.tokenizer);
        writer = std::make_unique<CorpusWriter>(wc, *tokenizer);
        spool->replay([&](CorpusDocument&& d) { writer->add(std::move(d)); });
    }
    nlohmann::json extra;
    extra["ingest"] = ingest::toJson(result);
    extra["ingest_settings"] = ingest::toJson(opt);
    extra["sources"] = extra["ingest_settings"]["sources"];
    if (!result.gitSources.empty()) extra["source_commit"] = result.gitSources.front().commit;
    CorpusSummary summary = writer->finish(extra);
    if (o.json) {
        nlohmann::json j = {{"corpus", summary.dir.string()},
                            {"documents", summary.documents},
                            {"train_tokens", summary.trainTokens},
                            {"val_tokens", summary.valTokens},
                            {"ingest", ingest::toJson(result)}};
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        printSummary(result, summary);
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
    sub->add_option("--val-fraction", o->valFraction, "Share of documents for validation")->capture_default_str();
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
    sub->callback([&run, o] { run = [o] { return runIngest(*o); }; });
}

}  // namespace

MTS_CLI_COMMAND(addIngest);

}  // namespace mts::cli

#endif  // MTS_HAVE_INGEST

// buildCorpus: one pass over a document source -> CorpusWriter, with BPE trained from a spool.
#include "mts/core/corpus/corpus_builder.h"

#include <chrono>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "corpus/document_spool.h"
#include "mts/core/corpus/corpus_output.h"
#include "mts/core/runtime/errors.h"
#include "runtime/owned_temp.h"

namespace fs = std::filesystem;

namespace mts {

int64_t bpeVocabOfSpec(const std::string& spec) {
    if (spec.rfind("bpe:", 0) != 0) return 0;
    const std::string number = spec.substr(4);
    char* end = nullptr;
    const long long vocab = number.empty() ? 0 : std::strtoll(number.c_str(), &end, 10);
    if (number.empty() || *end != '\0')
        throw ConfigError("tokenizer '" + spec + "': bpe:VOCAB needs a number, e.g. bpe:8192");
    if (vocab < 257 || vocab > (1ll << 31) - 1)
        throw ConfigError("tokenizer '" + spec + "': VOCAB must be at least 257 (256 bytes + end-of-document)");
    return vocab;
}

namespace {

using Clock = std::chrono::steady_clock;

// The tokenizer a spec names, checked before any document is read.
struct TokenizerChoice {
    std::shared_ptr<const Tokenizer> ready;  // byte, file or given
    int64_t bpeVocab = 0;                    // > 0: train BPE on the documents
};

TokenizerChoice chooseTokenizer(const CorpusBuildConfig& config) {
    TokenizerChoice c;
    if (config.givenTokenizer) {
        c.ready = config.givenTokenizer;
        return c;
    }
    const std::string& spec = config.tokenizer;
    if (spec.empty() || spec == "byte") {
        c.ready = makeByteTokenizer();
    } else if (const int64_t vocab = bpeVocabOfSpec(spec)) {
        c.bpeVocab = vocab;
    } else {
        if (!fs::exists(spec))
            throw ConfigError("tokenizer '" + spec + "': not \"byte\", \"bpe:VOCAB\" or an existing tokenizer.json "
                              "file or folder");
        c.ready = loadTokenizer(spec);
    }
    if (c.ready && !c.ready->eosId())
        throw ConfigError("tokenizer '" + (config.givenTokenizer ? c.ready->kind() : spec) +
                          "' has no end-of-document token, which the corpus puts after every document");
    return c;
}

// "<parent>/<name>.tmp-<pid>-XXXXXX", removed with everything in it when this goes away.
class WorkDir {
public:
    explicit WorkDir(const fs::path& outDir) {
        const fs::path parent = fs::absolute(outDir).parent_path();
        std::error_code ec;
        fs::create_directories(parent, ec);
        if (ec) throw std::runtime_error(parent.string() + ": cannot create: " + ec.message());
        detail::sweepStaleTempDirs(parent);  // what a killed build left here
        m_path = detail::makeOwnedTempDir(parent, outDir.filename().string());
    }
    ~WorkDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    WorkDir(const WorkDir&) = delete;
    WorkDir& operator=(const WorkDir&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
};

// Progress within a phase at most every ~100 ms; phase changes always.
class ProgressGate {
public:
    explicit ProgressGate(const CorpusBuildProgressFn& fn) : m_fn(fn) {}
    void report(const CorpusBuildProgress& p, bool force = false) {
        if (!m_fn) return;
        const auto now = Clock::now();
        if (!force && m_last && now - *m_last < std::chrono::milliseconds(100)) return;
        m_last = now;
        m_fn(p);
    }

private:
    const CorpusBuildProgressFn& m_fn;
    std::optional<Clock::time_point> m_last;
};

}  // namespace

const char* phaseName(CorpusBuildPhase phase) {
    switch (phase) {
        case CorpusBuildPhase::Reading: return "reading";
        case CorpusBuildPhase::TrainingTokenizer: return "training BPE";
        case CorpusBuildPhase::Writing: return "writing";
    }
    return "?";
}

CorpusBuildResult buildCorpus(const CorpusBuildConfig& config, const CorpusDocumentSource& source,
                              const CorpusBuildProgressFn& progress, const std::atomic<bool>* cancel) {
    const auto started = Clock::now();
    auto cancelled = [cancel] { return cancel && cancel->load(); };
    if (config.outDir.empty()) throw ConfigError("corpus: no output folder given");
    if (!(config.valFraction >= 0 && config.valFraction <= 1)) throw ConfigError("val_fraction must be within 0..1");
    const fs::path outDir = corpusOutputDir(config.outDir);
    checkCorpusOutput(outDir, config.overwrite, config.sources);
    const TokenizerChoice choice = chooseTokenizer(config);

    CorpusWriterConfig wc;
    wc.outDir = outDir;
    wc.overwrite = config.overwrite;
    wc.sources = config.sources;
    wc.valFraction = config.valFraction;
    wc.minValTokens = config.minValTokens;
    wc.seed = config.seed;
    wc.split = config.split;
    wc.threads = config.threads;

    CorpusBuildResult result;
    ProgressGate gate(progress);
    CorpusBuildProgress p;
    std::shared_ptr<const Tokenizer> tokenizer = choice.ready;
    std::unique_ptr<CorpusWriter> writer;
    std::unique_ptr<WorkDir> work;
    std::unique_ptr<detail::DocumentSpool> spool;
    std::unique_ptr<BpeTrainer> bpe;
    if (tokenizer) {
        writer = std::make_unique<CorpusWriter>(wc, *tokenizer);
    } else {
        work = std::make_unique<WorkDir>(outDir);
        spool = std::make_unique<detail::DocumentSpool>(work->path() / "documents.spool");
        BpeTrainerConfig bc = config.bpe;
        bc.vocabSize = choice.bpeVocab;
        bc.cancel = cancel;
        bc.progress = [&](int64_t done, int64_t total) {
            p.merges = done;
            p.mergesTotal = total;
            gate.report(p);
        };
        bpe = std::make_unique<BpeTrainer>(bc);
    }

    gate.report(p, true);
    uint64_t documentsRead = 0;
    const CorpusDocumentSink sink = [&](CorpusDocument doc) {
        if (cancelled()) return false;
        ++documentsRead;
        p.documents = documentsRead;
        p.bytes += doc.text.size();
        if (writer) {
            writer->add(std::move(doc));
        } else {
            bpe->addText(doc.text);
            spool->write(doc);
        }
        gate.report(p);
        return !cancelled();
    };
    nlohmann::json extra = source(sink);
    if (!extra.is_object()) extra = nlohmann::json::object();
    if (cancelled()) {
        result.cancelled = true;
        return result;  // the writer's destructor and WorkDir remove what was started
    }
    if (documentsRead == 0) throw ConfigError("corpus " + config.outDir.string() + ": the sources gave no documents");

    if (bpe) {
        p = CorpusBuildProgress{};
        p.phase = CorpusBuildPhase::TrainingTokenizer;
        p.mergesTotal = choice.bpeVocab - 257;
        gate.report(p, true);
        BpeTrainResult trained = bpe->train();
        if (trained.cancelled || cancelled()) {
            result.cancelled = true;
            return result;
        }
        bpe.reset();  // its counts can be large; the writer does not need them
        tokenizer = std::shared_ptr<const Tokenizer>(std::move(trained.tokenizer));
        writer = std::make_unique<CorpusWriter>(wc, *tokenizer);
        for (const auto& w : trained.warnings) writer->addWarning("bpe: " + w);
        extra["tokenizer_training"] = {{"method", "bpe"},
                                       {"vocab_size", choice.bpeVocab},
                                       {"merges", trained.merges},
                                       {"bytes_counted", trained.bytesCounted},
                                       {"distinct_words", trained.distinctWords},
                                       {"warnings", trained.warnings}};
        p = CorpusBuildProgress{};
        p.phase = CorpusBuildPhase::Writing;
        p.documentsTotal = spool->documents();
        gate.report(p, true);
        spool->replay([&](CorpusDocument&& doc) {
            if (cancelled()) return false;
            ++p.documents;
            p.bytes += doc.text.size();
            writer->add(std::move(doc));
            gate.report(p);
            return true;
        });
        spool.reset();
        if (cancelled()) {
            result.cancelled = true;
            return result;
        }
    }
    p.phase = CorpusBuildPhase::Writing;
    p.documentsTotal = documentsRead;
    p.documents = documentsRead;
    gate.report(p, true);
    if (cancelled()) {
        result.cancelled = true;
        return result;
    }
    result.summary = writer->finish(extra);
    result.warnings = result.summary.warnings;
    result.tokenizerKind = tokenizer->kind();
    result.vocabSize = tokenizer->vocabSize();
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return result;
}

}  // namespace mts

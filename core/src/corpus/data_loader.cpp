#include "mts/core/corpus/data_loader.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/runtime/errors.h"
#include "runtime/owned_temp.h"

namespace fs = std::filesystem;

namespace mts {

TokenStream::TokenStream(std::vector<int32_t> tokens)
    : m_memory(std::make_shared<const std::vector<int32_t>>(std::move(tokens))) {}

TokenStream::TokenStream(TokenFile file) : m_file(std::make_shared<const TokenFile>(std::move(file))) {}

uint64_t TokenStream::size() const {
    if (m_file) return m_file->size();
    return m_memory ? m_memory->size() : 0;
}

void TokenStream::read(uint64_t start, uint64_t n, int64_t* out) const {
    if (start + n > size()) throw std::out_of_range("TokenStream::read past the end");
    if (m_file) {
        m_file->read(start, n, out);
        return;
    }
    const int32_t* src = m_memory->data() + start;
    for (uint64_t i = 0; i < n; ++i) out[i] = src[i];
}

namespace {

// Removes a temporary folder when the text path is done with it: the token files stay
// mapped (an unlinked file lives on while mapped), so nothing is left on disk.
struct ScratchDir {
    fs::path path;
    ~ScratchDir() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

// UTF-8 bytes of the text a token stream stands for (the end-of-document ids stand for none).
uint64_t streamTextBytes(const TokenStream& stream, const Tokenizer& tokenizer) {
    const auto eos = tokenizer.eosId();
    std::vector<int64_t> ids;
    uint64_t bytes = 0;
    for (uint64_t at = 0; at < stream.size(); at += ids.size()) {
        ids.resize(std::min<uint64_t>(1u << 16, stream.size() - at));
        stream.read(at, ids.size(), ids.data());
        for (int64_t id : ids)
            if (!(eos && id == *eos)) bytes += tokenizer.tokenBytes(static_cast<int32_t>(id)).size();
    }
    return bytes;
}

// "bpe:VOCAB" for text: a BPE tokenizer learned from the first `cutBytes` bytes of the text
// (documents in the source's order, the last one cut at a character boundary).
std::shared_ptr<Tokenizer> learnTextBpe(const fs::path& path, int64_t vocab, uint64_t cutBytes,
                                        const std::atomic<bool>* cancel) {
    BpeTrainerConfig bc;
    bc.vocabSize = vocab;
    bc.totalBytesHint = cutBytes;
    bc.cancel = cancel;
    BpeTrainer trainer(bc);
    uint64_t seen = 0;
    textFileSource(path)([&](CorpusDocument doc) {
        std::string_view text = doc.text;
        if (seen + text.size() > cutBytes) {
            size_t n = static_cast<size_t>(cutBytes - seen);
            while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // not inside a character
            text = text.substr(0, n);
        }
        if (!text.empty()) trainer.addText(text);
        seen += text.size();
        return seen < cutBytes && !(cancel && cancel->load());
    });
    BpeTrainResult r = trainer.train();
    if (r.cancelled || (cancel && cancel->load())) throw Cancelled("cancelled while learning the tokenizer of " + path.string());
    return std::shared_ptr<Tokenizer>(std::move(r.tokenizer));
}

// Plain text goes through the corpus builder like every other source: one document per file,
// each ending with the end-of-document id, the last valFraction of the tokens (at least one
// window) for validation. The corpus is built in a scratch folder and opened from there.
// With "bpe:VOCAB" the tokenizer is learned from the text before the validation tail only: it
// starts from the first (1 - valFraction) of the bytes less 0.5%, and when the token split
// still puts some of those bytes in validation it is learned again from fewer.
TrainData openText(const fs::path& path, double valFraction, int64_t seqLen, std::shared_ptr<Tokenizer> tokenizer,
                   const std::string& tokenizerSpec, const std::atomic<bool>* cancel) {
    if (cancel && cancel->load()) throw Cancelled("cancelled before reading " + path.string());
    const int64_t bpeVocab = tokenizer ? 0 : bpeVocabOfSpec(tokenizerSpec);
    if (!tokenizer && !bpeVocab && !tokenizerSpec.empty() && tokenizerSpec != "byte") {
        if (!fs::exists(tokenizerSpec))
            throw ConfigError("text_tokenizer '" + tokenizerSpec +
                              "': not \"byte\", \"bpe:VOCAB\" or an existing tokenizer.json file or folder");
        tokenizer = std::shared_ptr<Tokenizer>(loadTokenizer(tokenizerSpec));
    }
    ScratchDir scratch;
    detail::sweepStaleTempDirs(fs::temp_directory_path());  // scratch corpora of killed runs
    scratch.path = detail::makeOwnedTempDir(fs::temp_directory_path(), "mts-text");
    const uint64_t window = static_cast<uint64_t>(seqLen) + 1;
    const CorpusDocumentSource text = textFileSource(path);
    uint64_t files = 0, bytes = 0;
    auto build = [&](const fs::path& outDir, const std::shared_ptr<Tokenizer>& tok) {
        CorpusBuildConfig cfg;
        cfg.outDir = outDir;
        cfg.givenTokenizer = tok;
        cfg.valFraction = valFraction;
        cfg.minValTokens = window;
        cfg.split = CorpusSplit::Tail;
        cfg.sources = {path};
        files = bytes = 0;
        const CorpusBuildResult built = buildCorpus(cfg, [&](const CorpusDocumentSink& sink) {
            return text([&](CorpusDocument doc) {
                ++files;
                bytes += doc.text.size();
                return sink(std::move(doc));
            });
        }, {}, cancel);
        if (built.cancelled) throw Cancelled("cancelled while reading " + path.string());
        const uint64_t total = built.summary.trainTokens + built.summary.valTokens;
        if (built.summary.trainTokens < window || built.summary.valTokens < window)
            throw ConfigError(fmt::format("{}: only {} tokens; need at least {} for one training and one validation "
                                          "window of seq_len + 1 = {} tokens",
                                          path.string(), total, std::max(built.summary.valTokens, window) + window,
                                          window));
    };
    std::string learned;
    fs::path corpusDir = scratch.path / "corpus";
    if (bpeVocab) {
        uint64_t textBytes = 0;
        text([&](CorpusDocument doc) {
            textBytes += doc.text.size();
            return true;
        });
        auto cut = static_cast<uint64_t>(static_cast<double>(textBytes) * (1.0 - valFraction) * 0.995);
        for (int attempt = 0;; ++attempt) {
            tokenizer = learnTextBpe(path, bpeVocab, cut, cancel);
            corpusDir = scratch.path / fmt::format("corpus-{}", attempt);
            build(corpusDir, tokenizer);
            const uint64_t trainBytes = streamTextBytes(TokenStream(TokenFile(corpusDir / "train.bin")), *tokenizer);
            if (trainBytes >= cut) break;
            if (attempt == 3)
                throw ConfigError(fmt::format("{}: could not learn a {} tokenizer from the training text alone", path.string(),
                                              tokenizerSpec));
            cut -= std::min(cut, 2 * (cut - trainBytes));  // step back past the shortfall, with as much again to spare
        }
        learned = fmt::format(", learned from the first {} bytes, all in the training split", cut);
    } else {
        if (!tokenizer) tokenizer = makeByteTokenizer();
        build(corpusDir, tokenizer);
    }
    TokenFile train(corpusDir / "train.bin"), val(corpusDir / "val.bin");
    TrainData d;
    d.tokenizer = std::move(tokenizer);  // the caller's own object: a fine-tuning run compares it with the model's
    d.description = fmt::format("text {} ({} file{}, {} bytes): {} train / {} val tokens ({} tokenizer, vocab {}{})",
                                path.string(), files, files == 1 ? "" : "s", bytes, train.size(), val.size(),
                                d.tokenizer->kind(), d.tokenizer->vocabSize(), learned);
    d.train = TokenStream(std::move(train));
    d.val = TokenStream(std::move(val));
    d.bytesPerToken = measureBytesPerToken(d.val, *d.tokenizer);
    return d;
}

TrainData openCorpusDir(const fs::path& dir, int64_t seqLen) {
    Corpus corpus = openCorpus(dir);
    TrainData d;
    d.tokenizer = std::shared_ptr<Tokenizer>(std::move(corpus.tokenizer));
    const uint64_t window = static_cast<uint64_t>(seqLen) + 1;
    const uint64_t nTrain = corpus.train.size(), nVal = corpus.val.size();
    if (nTrain < window)
        throw ConfigError(fmt::format("{}: {} training tokens, fewer than one window of seq_len + 1 = {}",
                                      (dir / "train.bin").string(), nTrain, window));
    d.train = TokenStream(std::move(corpus.train));
    std::string note;
    if (nVal >= window) {
        d.val = TokenStream(std::move(corpus.val));
    } else {
        // No usable validation split: evaluate on training windows, and say so.
        d.val = d.train;
        note = " (val.bin shorter than one window: validating on train)";
    }
    d.description = fmt::format("corpus {}: {} train / {} val tokens ({} tokenizer, vocab {}){}", dir.string(), nTrain,
                                nVal, d.tokenizer->kind(), d.tokenizer->vocabSize(), note);
    d.bytesPerToken = measureBytesPerToken(d.val, *d.tokenizer);
    return d;
}

// splitmix64: a full-avalanche mix, so nearby (seed, step, row) give unrelated positions.
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

TrainData openTrainData(const fs::path& path, double valFraction, int64_t seqLen,
                        std::shared_ptr<Tokenizer> textTokenizer, const std::atomic<bool>* cancel,
                        const std::string& tokenizerSpec) {
    if (!fs::exists(path)) throw ConfigError("data: " + path.string() + " does not exist");
    if (fs::is_directory(path) && fs::exists(path / "train.bin")) {
        TrainData d = openCorpusDir(path, seqLen);
        if (!tokenizerSpec.empty() && tokenizerSpec != "byte")
            d.description += fmt::format(" (text_tokenizer {} is for text data: a corpus keeps its own)", tokenizerSpec);
        return d;
    }
    return openText(path, valFraction, seqLen, std::move(textTokenizer), tokenizerSpec, cancel);
}

bool sameTokenizer(const Tokenizer& a, const Tokenizer& b) {
    if (a.vocabSize() != b.vocabSize() || a.eosId() != b.eosId()) return false;
    for (int32_t id = 0; id < a.vocabSize(); ++id)
        if (a.tokenBytes(id) != b.tokenBytes(id)) return false;
    return true;
}

torch::Tensor trainBatch(const TokenStream& stream, uint64_t seed, int64_t step, int64_t firstRow, int64_t rows,
                         int64_t seqLen) {
    const uint64_t window = static_cast<uint64_t>(seqLen) + 1;
    if (stream.size() < window) throw std::runtime_error("trainBatch: stream shorter than one window");
    const uint64_t positions = stream.size() - window + 1;
    auto out = torch::empty({rows, seqLen + 1}, torch::kInt64);
    int64_t* p = out.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
        uint64_t h = mix(mix(mix(seed) ^ static_cast<uint64_t>(step)) ^ static_cast<uint64_t>(firstRow + r));
        stream.read(h % positions, window, p + r * (seqLen + 1));
    }
    return out;
}

torch::Tensor evalBatch(const TokenStream& stream, int64_t index, int64_t count, int64_t rows, int64_t seqLen) {
    const uint64_t window = static_cast<uint64_t>(seqLen) + 1;
    if (stream.size() < window) throw std::runtime_error("evalBatch: stream shorter than one window");
    const uint64_t last = stream.size() - window;
    const uint64_t total = static_cast<uint64_t>(count * rows);
    auto out = torch::empty({rows, seqLen + 1}, torch::kInt64);
    int64_t* p = out.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
        uint64_t k = static_cast<uint64_t>(index * rows + r);
        uint64_t start = total > 1 ? last * k / (total - 1) : 0;
        stream.read(start, window, p + r * (seqLen + 1));
    }
    return out;
}

double measureBytesPerToken(const TokenStream& stream, const Tokenizer& tokenizer, uint64_t maxTokens) {
    const uint64_t n = std::min<uint64_t>(stream.size(), maxTokens);
    if (n == 0) return 1.0;
    std::vector<int64_t> ids(n);
    stream.read(0, n, ids.data());
    const auto eos = tokenizer.eosId();
    uint64_t bytes = 0;
    for (int64_t id : ids) {
        // The end-of-document marker stands for no text of the source.
        if (eos && id == *eos) continue;
        bytes += tokenizer.tokenBytes(static_cast<int32_t>(id)).size();
    }
    return bytes > 0 ? static_cast<double>(bytes) / static_cast<double>(n) : 1.0;
}

}  // namespace mts

#include "mts/core/corpus/data_loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"

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

std::string readWholeFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw FormatError(p.string(), "cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw FormatError(p.string(), "read error");
    return ss.str();
}

TrainData openText(const fs::path& path, double valFraction, int64_t seqLen, std::shared_ptr<Tokenizer> tokenizer) {
    std::vector<fs::path> files;
    if (fs::is_directory(path)) {
        for (auto& e : fs::recursive_directory_iterator(path))
            if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        if (files.empty()) throw ConfigError(path.string() + ": no .txt files and no train.bin in this folder");
    } else {
        files.push_back(path);
    }
    TrainData d;
    d.tokenizer = tokenizer ? std::move(tokenizer) : std::shared_ptr<Tokenizer>(makeByteTokenizer());
    std::vector<int32_t> ids;
    uint64_t bytes = 0;
    const auto eos = d.tokenizer->eosId();
    for (size_t i = 0; i < files.size(); ++i) {
        std::string text = readWholeFile(files[i]);
        bytes += text.size();
        auto part = d.tokenizer->encode(text);
        ids.insert(ids.end(), part.begin(), part.end());
        if (files.size() > 1 && eos && i + 1 < files.size()) ids.push_back(*eos);
    }
    const uint64_t window = static_cast<uint64_t>(seqLen) + 1;
    uint64_t nVal = static_cast<uint64_t>(static_cast<double>(ids.size()) * valFraction);
    nVal = std::max<uint64_t>(nVal, window);
    if (ids.size() < nVal + window)
        throw ConfigError(fmt::format("{}: only {} tokens; need at least {} for one training and one validation "
                                      "window of seq_len + 1 = {} tokens",
                                      path.string(), ids.size(), nVal + window, window));
    std::vector<int32_t> val(ids.end() - static_cast<std::ptrdiff_t>(nVal), ids.end());
    ids.resize(ids.size() - nVal);
    d.description = fmt::format("text {} ({} file{}, {} bytes): {} train / {} val tokens ({} tokenizer, vocab {})",
                                path.string(), files.size(), files.size() == 1 ? "" : "s", bytes, ids.size(),
                                val.size(), d.tokenizer->kind(), d.tokenizer->vocabSize());
    d.train = TokenStream(std::move(ids));
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
                        std::shared_ptr<Tokenizer> textTokenizer) {
    if (!fs::exists(path)) throw ConfigError("data: " + path.string() + " does not exist");
    if (fs::is_directory(path) && fs::exists(path / "train.bin")) return openCorpusDir(path, seqLen);
    return openText(path, valFraction, seqLen, std::move(textTokenizer));
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

#pragma once
// Training data for the trainer: train/validation token streams and batches of random
// contiguous windows.
//
// Sources (openTrainData):
//   - a corpus folder (corpus.h): train.bin + val.bin memory-mapped, tokenizer.json
//   - a .txt file, or a folder of .txt files (sorted by path, recursively): built into a corpus
//     by the corpus builder (corpus_builder.h, textFileSource) in a scratch folder under the
//     system temporary folder ($TMPDIR), mapped, and the folder removed at once (nothing is
//     left on disk). One document per file, each followed by <|endoftext|>; byte tokenizer
//     unless a text tokenizer is given; validation is the last valFraction of the tokens
//     (CorpusSplit::Tail), at least one window of seqLen + 1.
//
// Batches: row r of the batch for optimizer step s starts at a position drawn from a hash of
// (seed, s, r) alone, where r counts rows across the micro-batches of the step. So the
// batches of a run are fully determined by the seed and the step (a resumed run sees the
// same ones), and k micro-batches of b rows hold the same windows as one batch of k*b rows.
//
// Threading: a TrainData is read-only after opening; batch functions are const and
// thread-safe.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/corpus/corpus.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

/// A read-only token sequence (memory-mapped file or in-memory vector).
class TokenStream {
public:
    TokenStream() = default;
    explicit TokenStream(std::vector<int32_t> tokens);
    explicit TokenStream(TokenFile file);
    uint64_t size() const;
    /// Copies tokens [start, start + n) to out. Requires start + n <= size().
    void read(uint64_t start, uint64_t n, int64_t* out) const;

private:
    std::shared_ptr<const std::vector<int32_t>> m_memory;
    std::shared_ptr<const TokenFile> m_file;
};

struct TrainData {
    TokenStream train;
    TokenStream val;
    std::shared_ptr<Tokenizer> tokenizer;
    double bytesPerToken = 1.0;     // UTF-8 bytes per token, for bits per byte
    std::string description;        // "corpus <dir>: N train / M val tokens", for logs
};

/// Opens what `path` names (see above). valFraction applies to text input only, which is
/// tokenized with `textTokenizer` (a fine-tuned model's own) or, when null, as `tokenizerSpec`
/// says: "byte", the path of a tokenizer.json (or a folder holding one), or "bpe:VOCAB", a
/// byte-level BPE learned here from the text that ends up in the training split alone (the
/// validation tail is never counted; the description says how many bytes it was learned from).
/// A corpus folder keeps its own tokenizer whatever the spec (the description says so).
/// Throws FormatError for unreadable/malformed input, ConfigError when there is no text, a
/// split is too short for one window of seqLen + 1 tokens or the spec is malformed, Cancelled
/// when *cancel is set (checked between documents of a text build and between BPE merges;
/// nothing is left on disk).
TrainData openTrainData(const std::filesystem::path& path, double valFraction, int64_t seqLen,
                        std::shared_ptr<Tokenizer> textTokenizer = nullptr,
                        const std::atomic<bool>* cancel = nullptr, const std::string& tokenizerSpec = "byte");

/// Whether two tokenizers give every id the same bytes (and have the same size): the check
/// that a corpus was built with the tokenizer a model was trained with.
bool sameTokenizer(const Tokenizer& a, const Tokenizer& b);

/// (rows, seqLen + 1) int64 windows for optimizer step `step`, rows [firstRow, firstRow + rows)
/// of that step (micro-batch m of size b: firstRow = m * b).
torch::Tensor trainBatch(const TokenStream& stream, uint64_t seed, int64_t step, int64_t firstRow, int64_t rows,
                         int64_t seqLen);

/// Validation batch i of n: (rows, seqLen + 1), windows spread evenly over the whole stream,
/// the same at every evaluation.
torch::Tensor evalBatch(const TokenStream& stream, int64_t index, int64_t count, int64_t rows, int64_t seqLen);

/// Average UTF-8 bytes per token over (up to) the first maxTokens of a stream.
double measureBytesPerToken(const TokenStream& stream, const Tokenizer& tokenizer, uint64_t maxTokens = 1 << 20);

}  // namespace mts

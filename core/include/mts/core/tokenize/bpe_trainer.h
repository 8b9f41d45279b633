#pragma once
// Training tokenizers on a corpus: byte-level BPE (GPT-2 pre-tokenization) and word-level.
//
//   mts::BpeTrainerConfig cfg; cfg.vocabSize = 8192;
//   mts::BpeTrainer trainer(cfg);
//   for (const auto& doc : docs) trainer.addText(doc);   // counted in parallel batches
//   mts::BpeTrainResult r = trainer.train();             // r.tokenizer->save("tokenizer.json")
//
// Vocabulary layout of a trained BPE tokenizer: ids 0..255 are the 256 bytes (as GPT-2 byte
// stand-ins, in byte order), 256 is <|endoftext|> (a special added token), then one id per
// merge in the order learned. It is saved as a Hugging Face tokenizer.json (model BPE,
// ByteLevel pre-tokenizer, no normalizer) that loadTokenizer() reads back identically.
//
// Determinism: the same texts in the same order and the same config give the same tokenizer,
// whatever the thread count. The next merge is the pair with the highest count; ties go to
// the pair whose (left id, right id) is smallest.
//
// Sampling: when sampleBytes > 0, only that much text is counted. With totalBytesHint set
// (the expected corpus size), each text is kept with probability sampleBytes / totalBytesHint
// by a hash of its content, so the sample spreads over the whole corpus; without it, the
// first sampleBytes are used.
//
// Threading: one thread calls addText()/train(); counting and the first pair count run on
// `threads` workers. Cancel: train() stops between merges when `cancel` becomes true and
// returns the tokenizer learned so far with cancelled = true.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mts/core/tokenize/tokenizer.h"

namespace mts {

struct BpeTrainerConfig {
    int64_t vocabSize = 8192;       // total ids incl. 256 bytes and <|endoftext|>; >= 257
    uint64_t minPairCount = 2;      // stop when the best pair occurs fewer times
    int threads = 0;                // 0 = hardware concurrency (max 16)
    uint64_t sampleBytes = 64ull << 20;  // 0 = count everything
    uint64_t totalBytesHint = 0;    // expected corpus bytes (for spread-out sampling)
    const std::atomic<bool>* cancel = nullptr;
    /// Called every few hundred merges: (merges done, merges wanted).
    std::function<void(int64_t, int64_t)> progress;
};

struct BpeTrainResult {
    std::unique_ptr<Tokenizer> tokenizer;
    uint64_t bytesCounted = 0;     // text that went into the counts
    uint64_t distinctWords = 0;    // distinct pre-tokenized pieces
    int64_t merges = 0;
    bool cancelled = false;
    std::vector<std::string> warnings;
};

class BpeTrainer {
public:
    explicit BpeTrainer(BpeTrainerConfig config);
    ~BpeTrainer();
    /// Adds one document (UTF-8; invalid bytes become U+FFFD). <|endoftext|> in it is not
    /// counted as text.
    void addText(std::string_view text);
    uint64_t bytesCounted() const { return m_bytesCounted; }
    /// Learns the merges. Throws ConfigError for vocabSize < 257.
    BpeTrainResult train();

private:
    void countPending();

    BpeTrainerConfig m_config;
    std::vector<std::string> m_pending;
    size_t m_pendingBytes = 0;
    uint64_t m_bytesCounted = 0;
    std::unordered_map<std::string, uint64_t> m_wordCounts;  // piece bytes -> count
};

struct WordLevelConfig {
    int64_t maxVocab = 50000;    // including <unk> and <|endoftext|>
    uint64_t minCount = 2;       // words seen fewer times become <unk>
};

/// Word-level vocabulary: whitespace split (Unicode White_Space), ids 0 = <unk>,
/// 1 = <|endoftext|>, then words by descending count (ties: byte order). Saved as an HF
/// WordLevel tokenizer.json. Not thread-safe; one thread feeds it.
class WordLevelTrainer {
public:
    explicit WordLevelTrainer(WordLevelConfig config = {});
    void addText(std::string_view text);
    std::unique_ptr<Tokenizer> train() const;

private:
    WordLevelConfig m_config;
    std::unordered_map<std::string, uint64_t> m_counts;
};

}  // namespace mts

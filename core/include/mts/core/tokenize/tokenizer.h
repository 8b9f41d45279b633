#pragma once
// Tokenizers: byte-level (default, 256 byte symbols + <|endoftext|>), byte-level BPE (GPT-2 /
// GPT-NeoX family, loaded from tokenizer.json or vocab.json + merges.txt, or trained on a
// corpus), and word-level. Encoding/decoding is const and thread-safe.
//
// Byte-level BPE follows the Hugging Face `tokenizers` rules for the GPT-2 / GPT-NeoX family
// exactly (../shared/fixtures/TOKENIZERS.md): special added tokens on the raw text, NFC per
// piece (when the file's normalizer says so), normalized added tokens, the GPT-2 split regex
// (PCRE2, \s = Unicode White_Space), byte stand-ins, merges by rank. Input that is not valid
// UTF-8 is encoded as if each invalid sequence were U+FFFD (the byte tokenizer keeps raw bytes).
// Training: mts/core/bpe_trainer.h. The byte tokenizer's file is
//   {"type": "mts-byte", "version": 1, "vocab_size": 257, "eos_token": "<|endoftext|>", "eos_id": 256}
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mts {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    /// "byte", "bpe" or "word".
    virtual std::string kind() const = 0;
    /// Token ids of `text` (no BOS/EOS added). Special tokens in the text are matched.
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;
    /// Text of ids; invalid UTF-8 in the joined bytes becomes U+FFFD.
    virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
    /// The raw bytes one id stands for (may be a partial UTF-8 sequence); empty for unknown ids.
    virtual std::string tokenBytes(int32_t id) const = 0;
    /// Number of ids (max id + 1), before any model-side padding.
    virtual int64_t vocabSize() const = 0;
    /// The end-of-document id, when the tokenizer has one.
    virtual std::optional<int32_t> eosId() const = 0;
    /// Writes a tokenizer.json that loadTokenizer() reads back to an identical tokenizer
    /// (Hugging Face format for bpe and word; a small documented format for byte).
    virtual void save(const std::filesystem::path& file) const = 0;
};

/// The default byte tokenizer: ids 0..255 are bytes, 256 is <|endoftext|>; vocabSize 257.
std::unique_ptr<Tokenizer> makeByteTokenizer();

/// Loads a tokenizer.json file, or a folder holding tokenizer.json or vocab.json + merges.txt.
/// Throws FormatError naming the file and the problem for anything malformed.
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& fileOrDir);

/// Turns a stream of token bytes into text that never shows a broken character: complete
/// UTF-8 sequences are returned as soon as they are whole; invalid bytes become U+FFFD.
class Utf8StreamDecoder {
public:
    /// Appends bytes; returns the text that is now complete.
    std::string push(std::string_view bytes);
    /// End of stream: returns what is left (an incomplete tail becomes U+FFFD).
    std::string flush();

private:
    std::string m_pending;
};

}  // namespace mts

#pragma once
// Byte-level BPE pieces shared by the BPE tokenizer, its loaders and the trainer
// (internal to mts_core).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/tokenize/tokenizer.h"

namespace mts::bpe {

/// GPT-2 bytes_to_unicode: the stand-in code point of each byte.
const std::array<uint32_t, 256>& byteToCodepoint();

/// UTF-8 of the stand-in characters of `bytes`.
std::string bytesToStandIns(std::string_view bytes);

/// Bytes of a token whose characters are all stand-ins; false (out untouched) otherwise.
bool standInsToBytes(std::string_view token, std::string& out);

/// The GPT-2 pre-tokenization regex (PCRE2, JIT), with \s as the Unicode White_Space property.
/// Thread-safe: each call uses its own match data. Input must be valid UTF-8.
class Gpt2Splitter {
public:
    Gpt2Splitter();
    ~Gpt2Splitter();
    Gpt2Splitter(const Gpt2Splitter&) = delete;
    Gpt2Splitter& operator=(const Gpt2Splitter&) = delete;
    void split(std::string_view text, const std::function<void(std::string_view)>& onPiece) const;

private:
    void* m_code = nullptr;  // pcre2_code_8*
};

/// The process-wide splitter (compiled once).
const Gpt2Splitter& gpt2Splitter();

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool special = false;
    bool normalized = false;
    bool lstrip = false;
    bool rstrip = false;
    bool singleWord = false;
};

/// Leftmost-longest search for a set of literal tokens. Calls onText for the text between
/// matches (possibly empty pieces are skipped) and onToken for each match.
class LiteralMatcher {
public:
    explicit LiteralMatcher(std::vector<AddedToken> tokens);
    bool empty() const { return m_tokens.empty(); }
    void split(std::string_view text, const std::function<void(std::string_view)>& onText,
               const std::function<void(int32_t)>& onToken) const;

private:
    std::vector<AddedToken> m_tokens;
};

/// What a byte-level BPE tokenizer is made of, as read from a file or produced by training.
struct BpeSpec {
    std::vector<std::pair<std::string, int32_t>> vocab;              // model.vocab (token, id)
    std::vector<std::pair<std::string, std::string>> merges;          // rank order
    std::vector<AddedToken> added;                                    // added_tokens
    bool nfc = false;             // normalizer NFC
    bool addPrefixSpace = false;  // ByteLevel add_prefix_space
};

class BpeTokenizer final : public Tokenizer {
public:
    /// Validates the spec; throws FormatError(sourceFile, problem) when inconsistent.
    BpeTokenizer(BpeSpec spec, const std::string& sourceFile);
    std::string kind() const override { return "bpe"; }
    std::vector<int32_t> encode(std::string_view text) const override;
    std::string decode(const std::vector<int32_t>& ids) const override;
    std::string tokenBytes(int32_t id) const override;
    int64_t vocabSize() const override { return static_cast<int64_t>(m_tokenBytes.size()); }
    std::optional<int32_t> eosId() const override { return m_eos; }
    void save(const std::filesystem::path& file) const override;

    const BpeSpec& spec() const { return m_spec; }
    /// The HF tokenizer.json document of this tokenizer.
    nlohmann::ordered_json toJson() const;

private:
    void encodeNormalizedPiece(std::string_view piece, std::vector<int32_t>& out) const;
    void encodeWord(std::string_view bytes, std::vector<int32_t>& out) const;
    void bpeMerge(std::vector<int32_t>& symbols) const;

    BpeSpec m_spec;
    std::vector<std::string> m_tokenBytes;  // id -> raw bytes
    std::array<int32_t, 256> m_byteId{};    // byte -> id of its stand-in token (-1: none)
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> m_merges;  // (a,b) -> (rank, id)
    LiteralMatcher m_rawMatcher;   // special (normalized: false) added tokens
    LiteralMatcher m_normMatcher;  // normalized: true added tokens
    std::optional<int32_t> m_eos;

    uint64_t m_instanceId = 0;  // keys the per-thread piece cache (never reused, unlike `this`)
};

/// Parses an HF tokenizer.json document whose model is BPE. Throws FormatError(file, ...).
std::unique_ptr<Tokenizer> bpeFromHfJson(const nlohmann::json& doc, const std::string& file);

/// Reads a GPT-2 style vocab.json + merges.txt pair (special token: <|endoftext|> if present).
std::unique_ptr<Tokenizer> bpeFromVocabMerges(const std::filesystem::path& vocabFile,
                                              const std::filesystem::path& mergesFile);

}  // namespace mts::bpe

#pragma once
// Loaders of the non-BPE tokenizers (internal to mts_core).
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/tokenize/tokenizer.h"

namespace mts::detail {

/// {"type": "mts-byte", ...} -> the byte tokenizer. Throws FormatError on other contents.
std::unique_ptr<Tokenizer> byteFromJson(const nlohmann::json& doc, const std::string& file);

/// HF tokenizer.json with model.type "WordLevel" and a WhitespaceSplit pre-tokenizer.
std::unique_ptr<Tokenizer> wordLevelFromHfJson(const nlohmann::json& doc, const std::string& file);

/// A word-level tokenizer over `words` (id = index). unk must be one of them; eos optional.
std::unique_ptr<Tokenizer> makeWordLevel(std::vector<std::string> words, const std::string& unk,
                                         const std::string& eos, const std::string& sourceFile);

}  // namespace mts::detail

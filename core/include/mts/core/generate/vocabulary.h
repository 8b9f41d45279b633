#pragma once
// The model's vocabulary against its tokenizer's, for showing generated ids as text.
//
// Generation draws from the model's own vocabulary (ModelConfig::vocabSize, never the padding
// rows up to paddedVocab()), as Hugging Face `generate` and mamba_ssm do. A tokenizer can be
// smaller than that (a model folder with a smaller tokenizer.json, a byte tokenizer on a
// model trained with another one): ids >= tokenizer.vocabSize() then have no text, and are
// shown as a visible placeholder, "<|id N|>", instead of vanishing.
//
// Threading: free functions over const objects; safe from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mts/core/model/model_config.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

/// The placeholder text of an id the tokenizer cannot decode: "<|id 242|>".
std::string undecodableIdText(int32_t id);

/// True when id is outside the tokenizer's ids (id < 0 or id >= tokenizer.vocabSize()).
bool isUndecodable(const Tokenizer& tokenizer, int32_t id);

/// The bytes an id stands for: tokenizer.tokenBytes(id), or undecodableIdText(id) when the
/// tokenizer has no such id.
std::string displayTokenBytes(const Tokenizer& tokenizer, int32_t id);

/// tokenizer.decode(ids), with each id the tokenizer cannot decode shown as its placeholder
/// (the decodable runs between them are decoded as usual).
std::string decodeForDisplay(const Tokenizer& tokenizer, const std::vector<int32_t>& ids);

/// A sentence for the user when the model can produce ids its tokenizer cannot decode
/// (config.vocabSize > tokenizer->vocabSize()), naming both sizes and the placeholder;
/// nothing when every id of the model has text (or there is no tokenizer). Front ends show it
/// once per loaded model.
std::optional<std::string> vocabularyNote(const ModelConfig& config, const Tokenizer* tokenizer);

}  // namespace mts

// Placeholders for ids beyond the tokenizer (see vocabulary.h).
#include "mts/core/generate/vocabulary.h"

#include <fmt/format.h>

namespace mts {

std::string undecodableIdText(int32_t id) { return fmt::format("<|id {}|>", id); }

bool isUndecodable(const Tokenizer& tokenizer, int32_t id) { return id < 0 || id >= tokenizer.vocabSize(); }

std::string displayTokenBytes(const Tokenizer& tokenizer, int32_t id) {
    return isUndecodable(tokenizer, id) ? undecodableIdText(id) : tokenizer.tokenBytes(id);
}

std::string decodeForDisplay(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
    std::string out;
    std::vector<int32_t> run;
    for (int32_t id : ids) {
        if (!isUndecodable(tokenizer, id)) {
            run.push_back(id);
            continue;
        }
        out += tokenizer.decode(run);
        run.clear();
        out += undecodableIdText(id);
    }
    out += tokenizer.decode(run);
    return out;
}

std::optional<std::string> vocabularyNote(const ModelConfig& config, const Tokenizer* tokenizer) {
    if (!tokenizer || config.vocabSize <= tokenizer->vocabSize()) return std::nullopt;
    return fmt::format(
        "the model has {} token ids but its {} tokenizer only {}: generated ids {}..{} have no text and are "
        "shown as {}",
        config.vocabSize, tokenizer->kind(), tokenizer->vocabSize(), tokenizer->vocabSize(), config.vocabSize - 1,
        undecodableIdText(static_cast<int32_t>(tokenizer->vocabSize())));
}

}  // namespace mts

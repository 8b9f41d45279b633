// A transcript continued turn by turn on one carried decoding state (see conversation.h).
#include "mts/core/generate/conversation.h"

#include <chrono>

#include <fmt/format.h>

#include "generate/decode_loop.h"
#include "mts/core/generate/vocabulary.h"
#include "mts/core/runtime/errors.h"

namespace mts {

Conversation::Conversation(LanguageModelImpl& model, const Tokenizer* tokenizer)
    : m_model(model), m_tokenizer(tokenizer) {}

Conversation::~Conversation() = default;

void Conversation::reset() {
    m_state.reset();
    m_logits = torch::Tensor();
    m_ids.clear();
    m_text.clear();
    m_turns = 0;
}

int64_t Conversation::statePosition() const { return m_state ? m_state->position() : 0; }

GenerateResult Conversation::send(const std::string& text, const SamplingOptions& options,
                                  const TokenCallback& onToken) {
    if (!m_tokenizer) throw ConfigError("conversation: the model has no tokenizer to encode text with");
    return run(m_tokenizer->encode(text), text, options, onToken);
}

GenerateResult Conversation::sendIds(const std::vector<int32_t>& ids, const SamplingOptions& options,
                                     const TokenCallback& onToken) {
    return run(ids, m_tokenizer ? decodeForDisplay(*m_tokenizer, ids) : std::string(), options, onToken);
}

GenerateResult Conversation::run(std::vector<int32_t> newIds, const std::string& newText,
                                 const SamplingOptions& options, const TokenCallback& onToken) {
    options.validate();
    const ModelConfig& cfg = m_model.config();
    detail::checkIds(newIds, cfg);
    if (m_ids.empty() && newIds.empty()) {
        const auto start = m_tokenizer ? m_tokenizer->eosId() : std::optional<int32_t>{};
        if (!start || *start >= cfg.paddedVocab())
            throw ConfigError("conversation: the first turn is empty and the tokenizer has no end-of-document id to start from");
        newIds.push_back(*start);
    }

    // What the state has not consumed yet: the previous turn's last sampled id (if any).
    const int64_t consumed = statePosition();
    std::vector<int32_t> feed(m_ids.begin() + consumed, m_ids.end());
    feed.insert(feed.end(), newIds.begin(), newIds.end());
    const auto feedLen = static_cast<int64_t>(feed.size());

    GenerateResult result;
    result.promptTokens = feedLen;
    int64_t maxNew = options.maxNewTokens;
    bool contextLimited = false;
    if (const int64_t limit = detail::positionLimit(cfg); limit > 0) {
        if (consumed + feedLen > limit)
            throw ConfigError(fmt::format("the conversation would hold {} tokens but the model takes at most {}: "
                                          "reset it to start again",
                                          consumed + feedLen, limit));
        if (consumed + feedLen + maxNew - 1 > limit) {
            maxNew = limit - consumed - feedLen + 1;
            contextLimited = true;
            result.warnings.push_back(fmt::format(
                "the model's context is {} positions: at most {} new tokens in this turn", limit, maxNew));
        }
    }

    torch::NoGradGuard noGrad;
    detail::EvalModeGuard evalMode(m_model);
    std::vector<int32_t> history = m_ids;
    history.insert(history.end(), newIds.begin(), newIds.end());
    try {
        if (!m_state) m_state = m_model.newState(1);
        if (feedLen > 0) {
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<int64_t> feed64(feed.begin(), feed.end());
            const torch::Tensor ids = torch::tensor(feed64, torch::TensorOptions().dtype(torch::kLong))
                                          .view({1, feedLen})
                                          .to(detail::modelDevice(m_model));
            m_logits = m_model.prefill(ids, *m_state).to(torch::kCPU, torch::kFloat);
            result.promptSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        detail::decodeLoop(m_model, m_tokenizer, *m_state, m_logits, history, options, maxNew, contextLimited,
                           onToken, result);
    } catch (...) {
        // The state may hold part of this turn: it no longer matches the transcript.
        reset();
        throw;
    }
    m_ids = std::move(history);
    m_text += newText;
    m_text += result.text;
    ++m_turns;
    return result;
}

}  // namespace mts

// The decoding loop: prefill once, then one step per token, streaming complete text.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "generate/decode_loop.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/vocabulary.h"
#include "mts/core/runtime/errors.h"

namespace mts {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Length of the longest suffix of text[from..] that is a proper prefix of some stop string:
// that text must wait, since the next token may complete the stop string.
size_t heldBackLength(const std::string& text, size_t from, const std::vector<std::string>& stops) {
    size_t best = 0;
    const size_t avail = text.size() - from;
    for (const auto& s : stops) {
        const size_t maxLen = std::min(avail, s.size() - 1);
        for (size_t len = maxLen; len > best; --len) {
            if (text.compare(text.size() - len, len, s, 0, len) == 0) {
                best = len;
                break;
            }
        }
    }
    return best;
}

// Earliest occurrence of any stop string in text starting at or after `from`; npos if none.
size_t findStop(const std::string& text, size_t from, const std::vector<std::string>& stops) {
    size_t best = std::string::npos;
    for (const auto& s : stops) {
        const size_t pos = text.find(s, from);
        if (pos < best) best = pos;
    }
    return best;
}

}  // namespace

namespace detail {

torch::Device modelDevice(LanguageModelImpl& model) {
    for (const auto& p : model.parameters()) return p.device();
    return torch::kCPU;
}

int64_t positionLimit(const ModelConfig& c) {
    const bool attention = c.arch == Architecture::Transformer || c.arch == Architecture::Attention1;
    return attention && c.positions == "learned" ? c.maxSeqLen : 0;
}

void checkIds(const std::vector<int32_t>& ids, const ModelConfig& c) {
    for (int32_t id : ids) {
        if (id < 0 || id >= c.paddedVocab()) {
            throw ConfigError(fmt::format("generate: prompt id {} is outside the model's vocabulary (0..{})", id,
                                          c.paddedVocab() - 1));
        }
    }
}

}  // namespace detail

std::string toString(StopReason r) {
    switch (r) {
        case StopReason::MaxTokens: return "max_tokens";
        case StopReason::StopString: return "stop_string";
        case StopReason::Eos: return "eos";
        case StopReason::Cancelled: return "cancelled";
        case StopReason::ContextFull: return "context_full";
    }
    return "unknown";
}

GenerateResult generate(LanguageModelImpl& model, const Tokenizer* tokenizer, const GenerateRequest& request,
                        const TokenCallback& onToken) {
    const SamplingOptions& opts = request.options;
    opts.validate();
    const ModelConfig& cfg = model.config();
    GenerateResult result;

    std::vector<int32_t> history = request.promptIds;
    if (history.empty()) {
        const auto start = tokenizer ? tokenizer->eosId() : std::optional<int32_t>{};
        if (!start || *start >= cfg.paddedVocab()) {
            throw ConfigError("generate: the prompt is empty and the tokenizer has no end-of-document id to start from");
        }
        history.push_back(*start);
    }
    detail::checkIds(history, cfg);
    const auto promptLen = static_cast<int64_t>(history.size());
    result.promptTokens = promptLen;

    // The last sampled id is never fed back, so n new ids need promptLen + n - 1 positions.
    int64_t maxNew = opts.maxNewTokens;
    bool contextLimited = false;
    if (const int64_t limit = detail::positionLimit(cfg); limit > 0) {
        if (promptLen > limit) {
            throw ConfigError(fmt::format("generate: the prompt has {} tokens but the model takes at most {}",
                                          promptLen, limit));
        }
        if (promptLen + maxNew - 1 > limit) {
            maxNew = limit - promptLen + 1;
            contextLimited = true;
            result.warnings.push_back(fmt::format(
                "the model's context is {} positions: at most {} new tokens after this prompt", limit, maxNew));
        }
    }

    torch::NoGradGuard noGrad;
    detail::EvalModeGuard evalMode(model);
    const torch::Device device = detail::modelDevice(model);

    auto t0 = Clock::now();
    std::unique_ptr<DecodeState> state = model.newState(1);
    std::vector<int64_t> prompt64(history.begin(), history.end());
    torch::Tensor promptIds =
        torch::tensor(prompt64, torch::TensorOptions().dtype(torch::kLong)).view({1, promptLen}).to(device);
    // Copying the logits to the CPU also waits for an asynchronous device, so the time is real.
    torch::Tensor logits = model.prefill(promptIds, *state).to(torch::kCPU, torch::kFloat);
    result.promptSeconds = secondsSince(t0);

    detail::decodeLoop(model, tokenizer, *state, logits, history, opts, maxNew, contextLimited, onToken, result);
    return result;
}

namespace detail {

void decodeLoop(LanguageModelImpl& model, const Tokenizer* tokenizer, DecodeState& state, torch::Tensor& logits,
                std::vector<int32_t>& history, const SamplingOptions& opts, int64_t maxNew, bool contextLimited,
                const TokenCallback& onToken, GenerateResult& result) {
    const ModelConfig& cfg = model.config();
    // The model's own vocabulary, as the reference implementations sample it; ids the
    // tokenizer lacks are shown as placeholders (vocabulary.h), the padded rows never drawn.
    const int64_t vocabLimit = cfg.vocabSize;
    const std::optional<int32_t> eos =
        tokenizer && opts.stopAtEos ? tokenizer->eosId() : std::optional<int32_t>{};
    const torch::Device device = modelDevice(model);
    const auto idOptions = torch::TensorOptions().dtype(torch::kLong);

    Sampler sampler(opts, vocabLimit);
    Utf8StreamDecoder decoder;
    std::string decoded;  // all complete text of the new ids
    size_t emitted = 0;   // bytes of `decoded` already handed to the callback
    bool stoppedByString = false;
    result.stopReason = contextLimited ? StopReason::ContextFull : StopReason::MaxTokens;

    auto t0 = Clock::now();
    for (int64_t n = 0; n < maxNew; ++n) {
        const int32_t id = sampler.sample(logits, history);
        if (eos && id == *eos) {
            result.stopReason = StopReason::Eos;
            break;
        }
        result.ids.push_back(id);
        history.push_back(id);
        const bool last = n + 1 == maxNew;

        std::string chunk;
        if (tokenizer) {
            if (isUndecodable(*tokenizer, id)) ++result.undecodableIds;
            decoded += decoder.push(displayTokenBytes(*tokenizer, id));
            if (last) decoded += decoder.flush();
            const size_t stopAt = findStop(decoded, emitted, opts.stopStrings);
            if (stopAt != std::string::npos) {
                chunk = decoded.substr(emitted, stopAt - emitted);
                decoded.resize(stopAt);
                emitted = stopAt;
                stoppedByString = true;
            } else {
                const size_t hold = last ? 0 : heldBackLength(decoded, emitted, opts.stopStrings);
                chunk = decoded.substr(emitted, decoded.size() - hold - emitted);
                emitted += chunk.size();
            }
        }
        if (onToken && !onToken(id, chunk)) {
            result.stopReason = StopReason::Cancelled;
            break;
        }
        if (stoppedByString) {
            result.stopReason = StopReason::StopString;
            break;
        }
        if (last) break;
        torch::Tensor next = torch::tensor(std::vector<int64_t>{id}, idOptions).to(device);
        logits = model.step(next, state).to(torch::kCPU, torch::kFloat);
    }

    // Text still pending after an early end (EOS, cancel, or maxNew == 0): a held-back
    // would-be stop string or an incomplete UTF-8 tail.
    if (tokenizer && !stoppedByString) {
        decoded += decoder.flush();
        const size_t stopAt = findStop(decoded, emitted, opts.stopStrings);
        if (stopAt != std::string::npos) {
            decoded.resize(stopAt);
            if (result.stopReason != StopReason::Cancelled) result.stopReason = StopReason::StopString;
        }
        if (decoded.size() > emitted && onToken && result.stopReason != StopReason::Cancelled) {
            onToken(-1, decoded.substr(emitted));
        }
    }
    result.decodeSeconds = secondsSince(t0);
    result.text = std::move(decoded);
    if (!result.ids.empty() && result.decodeSeconds > 0.0) {
        result.tokensPerSecond = static_cast<double>(result.ids.size()) / result.decodeSeconds;
    }
    result.stateBytes = state.bytes();
}

}  // namespace detail

}  // namespace mts

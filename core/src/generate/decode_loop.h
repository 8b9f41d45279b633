#pragma once
// The sampling loop shared by generate() and Conversation: from the logits after the ids so
// far, sample, stream complete text, step the state, until a stop condition.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "mts/core/generate/generation.h"

namespace mts::detail {

// eval() for the duration of generation (dropout off), then the caller's mode again.
class EvalModeGuard {
public:
    explicit EvalModeGuard(torch::nn::Module& m) : m_module(m), m_wasTraining(m.is_training()) { m.eval(); }
    ~EvalModeGuard() {
        if (m_wasTraining) m_module.train();
    }
    EvalModeGuard(const EvalModeGuard&) = delete;
    EvalModeGuard& operator=(const EvalModeGuard&) = delete;

private:
    torch::nn::Module& m_module;
    bool m_wasTraining;
};

torch::Device modelDevice(LanguageModelImpl& model);

// How many positions the model can hold; 0 = unlimited (recurrent or rotary models).
int64_t positionLimit(const ModelConfig& c);

// Checks every id is a row of the model's embedding (ConfigError naming the id otherwise).
void checkIds(const std::vector<int32_t>& ids, const ModelConfig& c);

// The first new id is sampled from `logits` (V,) or (1, V) on the CPU; each later one after a
// step() on the previous id. history: every id so far; the generated ids are appended (not
// EOS). The last sampled id is not fed back (state.position() tells what was consumed).
// On return `logits` holds those the last id was sampled from: when every id was consumed
// (an EOS stop, or no new id), the prediction after the state's last id.
// Fills ids, text, stopReason, decodeSeconds, tokensPerSecond, stateBytes, undecodableIds.
// Caller holds NoGradGuard and has the model in eval().
void decodeLoop(LanguageModelImpl& model, const Tokenizer* tokenizer, DecodeState& state, torch::Tensor& logits,
                std::vector<int32_t>& history, const SamplingOptions& opts, int64_t maxNew, bool contextLimited,
                const TokenCallback& onToken, GenerateResult& result);

}  // namespace mts::detail

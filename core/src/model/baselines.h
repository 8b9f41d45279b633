#pragma once
// The linear next-token baseline of the seed comparison (Architecture::Linear):
//   logits_t = W · concat(e_{t-C+1}, ..., e_t) + b,  e = token embedding (zeros before the start)
// with C = config.context. Implemented as a causal convolution over the embeddings, so the
// (B, L, C*D) window tensor is never materialised.
// Parameters: embeddings.weight (V, D), proj_weight (V, D, C), proj_bias (V).
// Training applies config.dropout to the embeddings (decoding runs without it).
// Decoding keeps the last C-1 token ids (the state grows up to C-1 tokens, then stays).
// (Attention1, the one-layer attention model, is TransformerLMImpl; see transformer.h.)
#include <torch/torch.h>

#include "mts/core/model/language_model.h"

namespace mts {

class LinearState : public DecodeState {
public:
    int64_t position() const override { return tokens; }
    int64_t bytes() const override;
    torch::Tensor history;  // (B, <= C-1) int64, most recent last
    int64_t tokens = 0;
};

class LinearLMImpl : public LanguageModelImpl {
public:
    explicit LinearLMImpl(ModelConfig config);
    torch::Tensor forward(const torch::Tensor& ids) override;  // (B, L) -> (B, L, V)
    std::unique_ptr<DecodeState> newState(int64_t batch) override;
    torch::Tensor prefill(const torch::Tensor& ids, DecodeState& state) override;  // -> (B, V)
    torch::Tensor step(const torch::Tensor& ids, DecodeState& state) override;     // (B,) -> (B, V)

    torch::nn::Embedding embeddings{nullptr};
    torch::Tensor projWeight;  // (V, D, C): projWeight[:, :, C-1] applies to the current token
    torch::Tensor projBias;    // (V)

private:
    torch::Tensor lastLogits(const torch::Tensor& ids);  // (B, T) -> logits after ids[:, -1], (B, V)
};

}  // namespace mts

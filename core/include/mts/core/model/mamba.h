#pragma once
// Mamba-1 language model (Gu & Dao 2023), laid out exactly like Hugging Face
// MambaForCausalLM so that named_parameters() are its state-dict keys:
//
//   backbone.embeddings.weight                        (V, D)
//   backbone.layers.i.norm.weight                     (D)            RMSNorm
//   backbone.layers.i.mixer.in_proj.weight            (2*D_inner, D) -> x, z
//   backbone.layers.i.mixer.conv1d.weight / .bias     (D_inner, 1, K) / (D_inner)  causal depthwise
//   backbone.layers.i.mixer.x_proj.weight             (R + 2N, D_inner) -> dt, B, C
//   backbone.layers.i.mixer.dt_proj.weight / .bias    (D_inner, R) / (D_inner)
//   backbone.layers.i.mixer.A_log                     (D_inner, N)   A = -exp(A_log)
//   backbone.layers.i.mixer.D                         (D_inner)
//   backbone.layers.i.mixer.out_proj.weight           (D, D_inner)
//   backbone.norm_f.weight                            (D)
//   lm_head.weight                                    (V, D) only when tieEmbeddings is false
// (the embedding, norm_f, head and the forward/prefill/step loops: recurrent_lm.h)
// Variant flags add: layers.i.residual_gate (D), layers.i.out_norm.{weight,bias} (D).
//
// Glossary: B batch, L length, D d_model, D_inner expand*D, N d_state, K d_conv, R dt_rank,
// V padded vocabulary. Threading: one thread at a time per model (see language_model.h).
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_config.h"
#include "mts/core/model/recurrent_lm.h"

namespace mts {

/// Recurrent state of one Mamba layer.
struct MambaLayerState {
    torch::Tensor conv;  // (B, D_inner, K-1): the last K-1 inputs of the conv (zeros before the start)
    torch::Tensor ssm;   // (B, D_inner, N) float32
};

class MambaMixerImpl : public torch::nn::Module {
public:
    explicit MambaMixerImpl(const ModelConfig& config);
    /// Parallel path. x: (B, L, D) -> (B, L, D). With `state`, its conv/ssm states are the left
    /// context and are replaced by the states after the last token (prefill).
    torch::Tensor forward(const torch::Tensor& x, MambaLayerState* state = nullptr);
    /// One token. x: (B, D) -> (B, D); updates state in place. O(1) in the context length.
    torch::Tensor step(const torch::Tensor& x, MambaLayerState& state);
    /// The official initialisation (dt bias, dt_proj weight, A_log, D, out_proj rescale).
    void resetParameters();

    torch::nn::Linear in_proj{nullptr}, x_proj{nullptr}, dt_proj{nullptr}, out_proj{nullptr};
    torch::nn::Conv1d conv1d{nullptr};
    torch::Tensor A_log, D;

private:
    torch::Tensor activation(const torch::Tensor& x) const;
    ModelConfig m_config;
};
TORCH_MODULE(MambaMixer);

/// Residual block: x + mixer(RMSNorm(x)) (+ the variant flags).
class MambaBlockImpl : public torch::nn::Module {
public:
    explicit MambaBlockImpl(const ModelConfig& config);
    torch::Tensor forward(const torch::Tensor& x, MambaLayerState* state = nullptr);  // (B, L, D)
    torch::Tensor step(const torch::Tensor& x, MambaLayerState& state);               // (B, D)

    RMSNorm norm{nullptr};
    MambaMixer mixer{nullptr};
    torch::Tensor residual_gate;                  // (D), only with residualGate
    torch::nn::LayerNorm out_norm{nullptr};       // only with blockLayerNorm
    torch::nn::Dropout dropout{nullptr};

private:
    torch::Tensor finish(const torch::Tensor& x, torch::Tensor y);
};
TORCH_MODULE(MambaBlock);

using MambaBackboneImpl = RecurrentBackboneImpl<MambaBlock>;
using MambaBackbone = RecurrentBackbone<MambaBlock>;

/// Decoding state of a Mamba LM: constant size whatever the context length.
using MambaState = RecurrentState<MambaLayerState>;

/// The recurrent-LM shell (recurrent_lm.h) over Mamba blocks: forward (B, L) -> (B, L, V),
/// prefill (B, L) -> (B, V), step (B,) -> (B, V).
class MambaLMImpl : public RecurrentLMImpl<MambaBlock, MambaLayerState> {
public:
    explicit MambaLMImpl(ModelConfig config);
    /// conv (B, D_inner, K-1) in the embedding's dtype, ssm (B, D_inner, N) float32, zeros.
    std::unique_ptr<DecodeState> newState(int64_t batch) override;
};

}  // namespace mts

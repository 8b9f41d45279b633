#pragma once
// Mamba-2 language model (Dao & Gu 2024, state-space dual), laid out like Hugging Face
// Mamba2ForCausalLM and state-spaces' mamba_ssm, so named_parameters() are their state-dict keys:
//
//   backbone.embeddings.weight                    (V, D)
//   backbone.layers.i.norm.weight                 (D)                  RMSNorm
//   backbone.layers.i.mixer.in_proj.weight        (2*D_inner + 2*G*N + H, D) rows: z, x, B, C, dt
//   backbone.layers.i.mixer.conv1d.weight / .bias (C_conv, 1, K) / (C_conv), C_conv = D_inner + 2*G*N
//                                                 causal depthwise over x, B, C; SiLU after
//   backbone.layers.i.mixer.dt_bias               (H)   dt = softplus(dt_raw + dt_bias)
//   backbone.layers.i.mixer.A_log                 (H)   A = -exp(A_log), one decay per head
//   backbone.layers.i.mixer.D                     (H)
//   backbone.layers.i.mixer.norm.weight           (D_inner) gated RMSNorm: (y * silu(z)) normalised per
//                                                 group of D_inner / G channels (norm_before_gate=False)
//   backbone.layers.i.mixer.out_proj.weight       (D, D_inner)
//   backbone.norm_f.weight                        (D)
//   lm_head.weight                                (V, D) only when tieEmbeddings is false
// (the embedding, norm_f, head and the forward/prefill/step loops: recurrent_lm.h)
// (+ in_proj.bias / out_proj.bias with projBias.)
//
// Glossary: B batch, L length, D d_model, D_inner expand*D, P head_dim, H = D_inner / P heads,
// G n_groups (B and C shared by H/G heads), N d_state, K d_conv, V padded vocabulary.
// Threading: one thread at a time per model (see language_model.h).
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/mamba.h"
#include "mts/core/model/model_config.h"
#include "mts/core/model/recurrent_lm.h"

namespace mts {

/// Recurrent state of one Mamba-2 layer.
struct Mamba2LayerState {
    torch::Tensor conv;  // (B, C_conv, K-1): the last K-1 conv inputs (x, B, C), zeros before the start
    torch::Tensor ssm;   // (B, H, P, N) float32
};

/// y = weight * g / sqrt(mean over each group of g^2 + eps), g = y * silu(z), in float32.
class GatedRMSNormImpl : public torch::nn::Module {
public:
    GatedRMSNormImpl(int64_t dim, int64_t groups, double eps);
    /// y, z: (..., dim) -> (..., dim) float32.
    torch::Tensor forward(const torch::Tensor& y, const torch::Tensor& z);
    torch::Tensor weight;

private:
    int64_t m_groups;
    double m_eps;
};
TORCH_MODULE(GatedRMSNorm);

class Mamba2MixerImpl : public torch::nn::Module {
public:
    explicit Mamba2MixerImpl(const ModelConfig& config);
    /// Parallel (chunked SSD) path. x: (B, L, D) -> (B, L, D). With `state`, its conv/ssm states
    /// are the left context and are replaced by those after the last token (prefill).
    torch::Tensor forward(const torch::Tensor& x, Mamba2LayerState* state = nullptr);
    /// One token. x: (B, D) -> (B, D); updates state. O(1) in the context length.
    torch::Tensor step(const torch::Tensor& x, Mamba2LayerState& state);
    /// mamba_ssm's initialisation: dt log-uniform in [dt_min, dt_max] (floored) through the
    /// inverse softplus into dt_bias, A_log = log(uniform[1, 16]), D = 1, norm 1, out_proj
    /// kaiming-uniform / sqrt(n_layer).
    void resetParameters();

    torch::nn::Linear in_proj{nullptr}, out_proj{nullptr};
    torch::nn::Conv1d conv1d{nullptr};
    torch::Tensor dt_bias, A_log, D;
    GatedRMSNorm norm{nullptr};

private:
    ModelConfig m_config;
    int64_t m_heads, m_convDim;
};
TORCH_MODULE(Mamba2Mixer);

/// Residual block: x + mixer(RMSNorm(x)), residual in the input's dtype (fp32).
class Mamba2BlockImpl : public torch::nn::Module {
public:
    explicit Mamba2BlockImpl(const ModelConfig& config);
    torch::Tensor forward(const torch::Tensor& x, Mamba2LayerState* state = nullptr);  // (B, L, D)
    torch::Tensor step(const torch::Tensor& x, Mamba2LayerState& state);               // (B, D)

    RMSNorm norm{nullptr};
    Mamba2Mixer mixer{nullptr};
    torch::nn::Dropout dropout{nullptr};

private:
    torch::Tensor finish(const torch::Tensor& x, torch::Tensor y);
};
TORCH_MODULE(Mamba2Block);

using Mamba2BackboneImpl = RecurrentBackboneImpl<Mamba2Block>;
using Mamba2Backbone = RecurrentBackbone<Mamba2Block>;

/// Decoding state of a Mamba-2 LM: constant size whatever the context length.
using Mamba2State = RecurrentState<Mamba2LayerState>;

/// The recurrent-LM shell (recurrent_lm.h) over Mamba-2 blocks: forward (B, L) -> (B, L, V),
/// prefill (B, L) -> (B, V), step (B,) -> (B, V).
class Mamba2LMImpl : public RecurrentLMImpl<Mamba2Block, Mamba2LayerState> {
public:
    explicit Mamba2LMImpl(ModelConfig config);
    /// conv (B, C_conv, K-1) in the embedding's dtype, ssm (B, H, P, N) float32 (float64 for a
    /// float64 model), zeros.
    std::unique_ptr<DecodeState> newState(int64_t batch) override;
};

}  // namespace mts

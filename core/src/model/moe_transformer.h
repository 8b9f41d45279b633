#pragma once
// Sparse mixture-of-experts Transformer baseline (Architecture::Moe): the GPT-style decoder of
// transformer.h with each block's MLP replaced by nExperts expert MLPs (GELU, mlpRatio * D
// hidden) and a softmax router that sends every token to its top-k experts
// (k = config.expertsPerToken; the preset is top-2 of 8).
//
// Routing, per token x (D): p = softmax(router(x)) over the E experts (at least fp32); the k largest p
// pick the experts; their gates are those k probabilities renormalised to sum to 1; the output
// is sum_j gate_j * expert_j(x). With k == E this is the dense mixture sum_e p_e * expert_e(x).
//
// Capacity: none and no token dropping. Every token is computed by all of its k experts: each
// expert gathers the rows routed to it (index_select), runs on them, and its gated outputs are
// scattered back (index_add). An unbalanced router costs time, never tokens. Each expert's rows
// are padded with zero-gate rows to a multiple of 64 (at most 63 wasted rows per expert) so the
// allocator sees recurring sizes (variable sizes fragmented glibc's heap step after step).
//
// Load-balancing loss (Switch/GShard): per layer, aux = E * sum_i f_i * P_i, with f_i the
// fraction of the N*k token-to-expert assignments that went to expert i (counts, no gradient)
// and P_i the mean router probability of expert i over the N tokens. Its minimum, 1, is reached
// by a uniform router (P_i = 1/E) or a perfectly balanced one; a router that sends most tokens
// to a few experts scores up to E. The model's auxiliaryLoss() is auxLossWeight times the mean
// over layers of the last forward; the trainer adds it to the loss and logs it as aux_loss.
//
// Parameters: numParameters() counts every expert (total); numActiveNonEmbeddingParameters()
// counts k of the E experts per layer (what one token passes through: FLOPs and MFU use it).
//
// Parameter names (GPT-2 style, as transformer.h, with the MLP replaced):
//   transformer.h.i.moe.router.weight (E, D)
//   transformer.h.i.moe.experts.j.c_fc.{weight (r*D, D), bias}  .c_proj.{weight (D, r*D), bias}
//
// Gradient checkpointing is not applied to MoE blocks (the recompute would lose the load-
// balancing loss's gradient): setGradientCheckpointing() is accepted and ignored.
// Decoding: the Transformer's KV cache (KvCacheState); the experts are per token, no state.
// Threading: one thread at a time per model.
#include <vector>

#include <torch/torch.h>

#include "model/transformer.h"
#include "mts/core/model/language_model.h"

namespace mts {

/// The router's decision for N tokens.
struct MoeRouting {
    torch::Tensor probs;    // (N, E) softmax of the router logits, fp32 (fp64 for a double model)
    torch::Tensor experts;  // (N, k) int64 chosen experts, most probable first
    torch::Tensor gates;    // (N, k) their probabilities renormalised to sum to 1, dtype of probs
};

class MoeMlpImpl : public torch::nn::Module {
public:
    explicit MoeMlpImpl(const ModelConfig& config);
    /// x: (B, L, D) -> (B, L, D). Keeps this call's load-balancing loss (lastBalanceLoss()).
    torch::Tensor forward(const torch::Tensor& x);
    /// Routes x: (N, D).
    MoeRouting route(const torch::Tensor& x);
    /// E * sum_i f_i * P_i of a routing (scalar of probs' dtype; differentiable through probs).
    static torch::Tensor balanceLoss(const MoeRouting& routing, int64_t nExperts);
    /// The unweighted balance loss of the last forward (undefined before the first).
    const torch::Tensor& lastBalanceLoss() const { return m_lastBalanceLoss; }

    torch::nn::Linear router{nullptr};
    torch::nn::ModuleList experts{nullptr};
    std::vector<TransformerMlp> expertList;

private:
    int64_t m_topK = 1;
    torch::Tensor m_lastBalanceLoss;
};
TORCH_MODULE(MoeMlp);

class MoeBlockImpl : public torch::nn::Module {
public:
    explicit MoeBlockImpl(const ModelConfig& config);
    torch::Tensor forward(const torch::Tensor& x, int64_t pos0 = 0, KvLayerCache* cache = nullptr);
    torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
    CausalSelfAttention attn{nullptr};
    MoeMlp moe{nullptr};
};
TORCH_MODULE(MoeBlock);

class MoeBodyImpl : public torch::nn::Module {
public:
    explicit MoeBodyImpl(const ModelConfig& config);
    torch::nn::Embedding wte{nullptr}, wpe{nullptr};  // wpe only for learned positions
    torch::nn::Dropout drop{nullptr};
    torch::nn::ModuleList h{nullptr};
    std::vector<MoeBlock> blocks;
    torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(MoeBody);

class MoeLMImpl : public LanguageModelImpl {
public:
    explicit MoeLMImpl(ModelConfig config);
    torch::Tensor forward(const torch::Tensor& ids) override;  // (B, L) -> (B, L, V)
    std::unique_ptr<DecodeState> newState(int64_t batch) override;
    torch::Tensor prefill(const torch::Tensor& ids, DecodeState& state) override;  // -> (B, V)
    torch::Tensor step(const torch::Tensor& ids, DecodeState& state) override;     // (B,) -> (B, V)
    void setGradientCheckpointing(bool) override {}
    int64_t numNonEmbeddingParameters() const override;
    int64_t numActiveNonEmbeddingParameters() const override;
    torch::Tensor auxiliaryLoss() const override;

    MoeBody transformer{nullptr};
    torch::nn::Linear lm_head{nullptr};

private:
    torch::Tensor embed(const torch::Tensor& ids, int64_t pos0);  // (B, L) -> (B, L, D)
    torch::Tensor head(const torch::Tensor& h);
};

}  // namespace mts

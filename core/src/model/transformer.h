#pragma once
// GPT-style decoder baseline (pre-norm LayerNorm, causal multi-head self-attention, GELU MLP,
// learned or rotary positions, tied head) and the one-layer attention-only model of the seed
// comparison (Architecture::Attention1: embedding + one attention block + head, no MLP).
//
// Parameter names (GPT-2 style, Linear weights are (out, in)):
//   transformer.wte.weight (V, D)   transformer.wpe.weight (maxSeqLen, D) [learned positions]
//   transformer.h.i.ln_1.{weight,bias}  transformer.h.i.attn.c_attn.{weight (3D, D), bias}
//   transformer.h.i.attn.c_proj.{weight (D, D), bias}  transformer.h.i.ln_2.{weight,bias}
//   transformer.h.i.mlp.c_fc.{weight (r*D, D), bias}  transformer.h.i.mlp.c_proj.{weight, bias}
//   transformer.ln_f.{weight,bias}   lm_head.weight (V, D) only when untied
//
// Decoding keeps a KV cache per layer: (B, H, T, D/H) keys and values, growing with T.
// Learned positions limit the context to maxSeqLen (std::invalid_argument beyond it).
// Threading: one thread at a time per model.
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"

namespace mts {

struct KvLayerCache {
    torch::Tensor k, v;  // (B, H, T, D/H); undefined before the first token
};

class KvCacheState : public DecodeState {
public:
    int64_t position() const override { return tokens; }
    int64_t bytes() const override;
    std::vector<KvLayerCache> layers;
    int64_t batch = 0;
    int64_t tokens = 0;
};

class CausalSelfAttentionImpl : public torch::nn::Module {
public:
    explicit CausalSelfAttentionImpl(const ModelConfig& config);
    /// x: (B, L, D) at absolute positions [pos0, pos0 + L). With `cache`, attends to the cached
    /// keys/values too and appends this chunk's to it.
    torch::Tensor forward(const torch::Tensor& x, int64_t pos0 = 0, KvLayerCache* cache = nullptr);

    torch::nn::Linear c_attn{nullptr}, c_proj{nullptr};
    torch::nn::Dropout attn_dropout{nullptr}, resid_dropout{nullptr};

private:
    torch::Tensor rope(const torch::Tensor& t, int64_t pos0) const;  // (B, H, L, hd)
    ModelConfig m_config;
};
TORCH_MODULE(CausalSelfAttention);

class TransformerMlpImpl : public torch::nn::Module {
public:
    explicit TransformerMlpImpl(const ModelConfig& config);
    torch::Tensor forward(const torch::Tensor& x);  // (B, L, D) -> (B, L, D)
    torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
    torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(TransformerMlp);

class TransformerBlockImpl : public torch::nn::Module {
public:
    TransformerBlockImpl(const ModelConfig& config, bool withMlp);
    torch::Tensor forward(const torch::Tensor& x, int64_t pos0 = 0, KvLayerCache* cache = nullptr);
    torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
    CausalSelfAttention attn{nullptr};
    TransformerMlp mlp{nullptr};  // empty for Attention1
};
TORCH_MODULE(TransformerBlock);

class TransformerBodyImpl : public torch::nn::Module {
public:
    explicit TransformerBodyImpl(const ModelConfig& config);
    torch::nn::Embedding wte{nullptr}, wpe{nullptr};  // wpe only for learned positions
    torch::nn::Dropout drop{nullptr};
    torch::nn::ModuleList h{nullptr};
    std::vector<TransformerBlock> blocks;
    torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(TransformerBody);

/// Architecture::Transformer (nLayer blocks) or Architecture::Attention1 (one block, no MLP).
class TransformerLMImpl : public LanguageModelImpl {
public:
    explicit TransformerLMImpl(ModelConfig config);
    torch::Tensor forward(const torch::Tensor& ids) override;  // (B, L) -> (B, L, V)
    std::unique_ptr<DecodeState> newState(int64_t batch) override;
    torch::Tensor prefill(const torch::Tensor& ids, DecodeState& state) override;  // -> (B, V)
    torch::Tensor step(const torch::Tensor& ids, DecodeState& state) override;     // (B,) -> (B, V)
    int64_t numNonEmbeddingParameters() const override;

    TransformerBody transformer{nullptr};
    torch::nn::Linear lm_head{nullptr};

private:
    torch::Tensor embed(const torch::Tensor& ids, int64_t pos0);  // (B, L) -> (B, L, D)
    torch::Tensor head(const torch::Tensor& h);
};

}  // namespace mts

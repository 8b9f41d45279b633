#pragma once
// LanguageModel: the interface every architecture implements, so the trainer, generation,
// exporters and the UI treat Mamba and the baselines through one code path.
//
// Glossary: B batch, L sequence length, D d_model, V padded vocabulary (config.paddedVocab()).
// Threading: a model is used by one thread at a time (LibTorch modules are not thread-safe);
// jobs own their model or hold a lock.
//
// Parameter names: for Mamba, named_parameters() are exactly the Hugging Face
// MambaForCausalLM keys ("backbone.embeddings.weight", "backbone.layers.0.mixer.in_proj.weight",
// ..., "backbone.norm_f.weight"; the tied lm_head is not a separate parameter), so
// checkpoints map 1:1 to state dicts.
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "mts/core/model/model_config.h"

namespace mts {

/// Per-sequence decoding state: Mamba's conv + SSM states (constant size), the
/// Transformer's KV cache (grows with the context).
class DecodeState {
public:
    virtual ~DecodeState() = default;
    /// Tokens consumed so far.
    virtual int64_t position() const = 0;
    /// Bytes held by the state's tensors (for the fixed-vs-growing memory comparison).
    virtual int64_t bytes() const = 0;
};

class LanguageModelImpl : public torch::nn::Module {
public:
    explicit LanguageModelImpl(ModelConfig config) : m_config(std::move(config)) {}
    ~LanguageModelImpl() override = default;

    const ModelConfig& config() const { return m_config; }

    /// Parallel (training) forward. ids: (B, L) int64 -> logits (B, L, V) float32
    /// (bf16 inside an autocast region). Causal: logits[:, t] depend on ids[:, :t+1] only.
    virtual torch::Tensor forward(const torch::Tensor& ids) = 0;

    /// An empty decoding state for `batch` sequences on the model's device.
    virtual std::unique_ptr<DecodeState> newState(int64_t batch) = 0;

    /// Consumes a prompt ids (B, L) into `state` (which must be fresh or continued) and returns
    /// the logits of its last position, (B, V). Mamba runs the parallel path once.
    virtual torch::Tensor prefill(const torch::Tensor& ids, DecodeState& state) = 0;

    /// One decoding step. ids: (B,) int64 -> logits (B, V). O(1) time and memory for Mamba.
    virtual torch::Tensor step(const torch::Tensor& ids, DecodeState& state) = 0;

    /// Recompute each block's activations in backward instead of storing them.
    virtual void setGradientCheckpointing(bool on) { m_gradientCheckpointing = on; }
    bool gradientCheckpointing() const { return m_gradientCheckpointing; }

    /// Total trainable parameters (tied weights counted once).
    int64_t numParameters() const;
    /// Parameters excluding the embedding (and positional tables): the "N" of 6·N FLOPs/token.
    virtual int64_t numNonEmbeddingParameters() const;
    /// The non-embedding parameters one token passes through (sparse models: the routed experts
    /// only); the "N" of the 6·N·T training FLOPs. Dense models: numNonEmbeddingParameters().
    virtual int64_t numActiveNonEmbeddingParameters() const { return numNonEmbeddingParameters(); }

    /// The auxiliary training loss of the last forward() (fp32 scalar, already weighted, to be
    /// added to the cross-entropy loss), or an undefined tensor for architectures without one.
    /// MoE: its load-balancing loss. Differentiable when the forward ran with grad enabled.
    virtual torch::Tensor auxiliaryLoss() const { return {}; }

protected:
    ModelConfig m_config;
    bool m_gradientCheckpointing = false;
};

using LanguageModel = std::shared_ptr<LanguageModelImpl>;

}  // namespace mts

#pragma once
// The shell the recurrent (state-space) language models share, Mamba-1 (mamba.h) and Mamba-2
// (mamba2.h): token embedding, the list of residual blocks, the final RMSNorm and the head
// (tied to the embedding unless tieEmbeddings is false), with the parallel forward, the prefill
// and the one-token step over a per-layer recurrent state. Parameter names (Hugging Face's and
// mamba_ssm's state-dict keys):
//
//   backbone.embeddings.weight        (V, D)
//   backbone.layers.i.<block's own>   (norm.weight, mixer.*, ...)
//   backbone.norm_f.weight            (D)
//   lm_head.weight                    (V, D) only when tieEmbeddings is false
//
// A Block is a module holder (MambaBlock, Mamba2Block) with a constructor from ModelConfig,
// forward(x (B, L, D), LayerState* state) -> (B, L, D) and step(x (B, D), LayerState&) -> (B, D);
// a LayerState has `conv` and `ssm` tensors. The members of RecurrentLMImpl are instantiated in
// mamba.cpp and mamba2.cpp (src/model/recurrent_lm_impl.h).
//
// Glossary: B batch, L length, D d_model, V padded vocabulary.
// Threading: one thread at a time per model (see language_model.h).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_config.h"

namespace mts {

/// y = weight * x / sqrt(mean(x^2) + eps), computed in fp32, returned in x's dtype, or in bf16
/// under CPU bf16 autocast (its consumers are linears, which would cast it to bf16).
class RMSNormImpl : public torch::nn::Module {
public:
    RMSNormImpl(int64_t dim, double eps);
    torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)
    torch::Tensor weight;

private:
    double m_eps;
};
TORCH_MODULE(RMSNorm);

/// embeddings, layers (nLayer Blocks), norm_f; the embedding is initialised N(0, initStd).
template <class Block>
class RecurrentBackboneImpl : public torch::nn::Module {
public:
    explicit RecurrentBackboneImpl(const ModelConfig& config) {
        embeddings = register_module("embeddings", torch::nn::Embedding(config.paddedVocab(), config.dModel));
        layers = register_module("layers", torch::nn::ModuleList());
        for (int64_t i = 0; i < config.nLayer; ++i) {
            Block block(config);
            layers->push_back(block);
            blocks.push_back(block);
        }
        norm_f = register_module("norm_f", RMSNorm(config.dModel, config.normEps));
        torch::NoGradGuard noGrad;
        embeddings->weight.normal_(0.0, config.initStd);
    }
    torch::nn::Embedding embeddings{nullptr};
    torch::nn::ModuleList layers{nullptr};
    std::vector<Block> blocks;  // typed view of `layers`
    RMSNorm norm_f{nullptr};
};

template <class Block>
class RecurrentBackbone : public torch::nn::ModuleHolder<RecurrentBackboneImpl<Block>> {
public:
    using torch::nn::ModuleHolder<RecurrentBackboneImpl<Block>>::ModuleHolder;
};

/// Decoding state of a recurrent LM: one LayerState per layer, constant size whatever the
/// context length.
template <class LayerState>
class RecurrentState : public DecodeState {
public:
    int64_t position() const override { return tokens; }
    int64_t bytes() const override {
        int64_t total = 0;
        for (const auto& l : layers) {
            if (l.conv.defined()) total += l.conv.numel() * static_cast<int64_t>(l.conv.element_size());
            if (l.ssm.defined()) total += l.ssm.numel() * static_cast<int64_t>(l.ssm.element_size());
        }
        return total;
    }
    std::vector<LayerState> layers;
    int64_t tokens = 0;  // consumed so far
};

/// The language model around a backbone of Blocks; the derived class adds newState().
/// forward/prefill/step throw std::invalid_argument on bad ids, an empty prompt, or a state
/// that another kind of model made or whose layers / batch do not match.
template <class Block, class LayerState>
class RecurrentLMImpl : public LanguageModelImpl {
public:
    using State = RecurrentState<LayerState>;

    torch::Tensor forward(const torch::Tensor& ids) override;                      // (B, L) -> (B, L, V)
    torch::Tensor prefill(const torch::Tensor& ids, DecodeState& state) override;  // (B, L) -> (B, V)
    torch::Tensor step(const torch::Tensor& ids, DecodeState& state) override;     // (B,) -> (B, V)
    int64_t numNonEmbeddingParameters() const override;

    RecurrentBackbone<Block> backbone{nullptr};
    torch::nn::Linear lm_head{nullptr};  // only when tieEmbeddings is false

protected:
    /// Validates `config`, requires config.arch == arch (ConfigError naming `name`), builds the
    /// backbone and, untied, lm_head (N(0, initStd)). `name` ("Mamba", "Mamba-2") prefixes errors.
    RecurrentLMImpl(ModelConfig config, Architecture arch, std::string name);
    torch::Tensor head(const torch::Tensor& h);  // norm_f then the (tied) head: (..., D) -> (..., V)

private:
    State& asState(DecodeState& state, int64_t batch, const std::string& what) const;
    std::string m_name;
};

}  // namespace mts

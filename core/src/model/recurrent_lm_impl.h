#pragma once
// The members of RecurrentLMImpl (mts/core/model/recurrent_lm.h), included and explicitly
// instantiated once per architecture (mamba.cpp, mamba2.cpp). Internal to model/.
#include <stdexcept>
#include <string>

#include "model/check_ids.h"
#include "model/grad_checkpoint.h"
#include "mts/core/model/recurrent_lm.h"
#include "mts/core/runtime/errors.h"

namespace mts {

template <class Block, class LayerState>
RecurrentLMImpl<Block, LayerState>::RecurrentLMImpl(ModelConfig config, Architecture arch, std::string name)
    : LanguageModelImpl(std::move(config)), m_name(std::move(name)) {
    m_config.validate();
    if (m_config.arch != arch)
        throw ConfigError("arch: " + m_name + " needs arch = " + toString(arch) + ", got " + toString(m_config.arch));
    backbone = register_module("backbone", RecurrentBackbone<Block>(m_config));
    if (!m_config.tieEmbeddings) {
        lm_head = register_module(
            "lm_head",
            torch::nn::Linear(torch::nn::LinearOptions(m_config.dModel, m_config.paddedVocab()).bias(false)));
        torch::NoGradGuard noGrad;
        lm_head->weight.normal_(0.0, m_config.initStd);
    }
}

template <class Block, class LayerState>
torch::Tensor RecurrentLMImpl<Block, LayerState>::head(const torch::Tensor& h) {
    const torch::Tensor normed = backbone->norm_f(h);
    return torch::linear(normed, lm_head.is_empty() ? backbone->embeddings->weight : lm_head->weight);
}

template <class Block, class LayerState>
typename RecurrentLMImpl<Block, LayerState>::State& RecurrentLMImpl<Block, LayerState>::asState(
    DecodeState& state, int64_t batch, const std::string& what) const {
    auto* s = dynamic_cast<State*>(&state);
    if (!s) throw std::invalid_argument(what + ": decode state was not created by a " + m_name + " model");
    if (static_cast<int64_t>(s->layers.size()) != m_config.nLayer || s->layers[0].ssm.size(0) != batch)
        throw std::invalid_argument(what + ": state does not match the model or batch size");
    return *s;
}

template <class Block, class LayerState>
torch::Tensor RecurrentLMImpl<Block, LayerState>::forward(const torch::Tensor& ids) {
    detail::checkIds(ids, 2, (m_name + " forward").c_str());
    torch::Tensor h = backbone->embeddings(ids);  // (B, L, D)
    const bool checkpoint = m_gradientCheckpointing && torch::GradMode::is_enabled();
    for (auto& block : backbone->blocks) {
        if (checkpoint) {
            Block b = block;
            h = detail::checkpointBlock([b](const torch::Tensor& x) mutable { return b->forward(x); }, h, b->parameters(),
                                        /*replayRng=*/is_training() && m_config.dropout > 0.0);
        } else {
            h = block->forward(h);
        }
    }
    return head(h);  // (B, L, V)
}

template <class Block, class LayerState>
torch::Tensor RecurrentLMImpl<Block, LayerState>::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    const std::string what = m_name + " prefill";
    detail::checkIds(ids, 2, what.c_str());
    if (ids.size(1) == 0) throw std::invalid_argument(what + ": empty prompt");
    State& state = asState(stateBase, ids.size(0), what);
    torch::Tensor h = backbone->embeddings(ids);
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->forward(h, &state.layers[i]);
    state.tokens += ids.size(1);
    return head(h.select(1, h.size(1) - 1));  // (B, V)
}

template <class Block, class LayerState>
torch::Tensor RecurrentLMImpl<Block, LayerState>::step(const torch::Tensor& ids, DecodeState& stateBase) {
    const std::string what = m_name + " step";
    detail::checkIds(ids, 1, what.c_str());
    State& state = asState(stateBase, ids.size(0), what);
    torch::Tensor h = backbone->embeddings(ids);  // (B, D)
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->step(h, state.layers[i]);
    state.tokens += 1;
    return head(h);  // (B, V)
}

template <class Block, class LayerState>
int64_t RecurrentLMImpl<Block, LayerState>::numNonEmbeddingParameters() const {
    return numParameters() - backbone->embeddings->weight.numel();
}

}  // namespace mts

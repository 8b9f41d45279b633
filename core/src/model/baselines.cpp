// The linear next-token baseline (see baselines.h).
#include "model/baselines.h"

#include <stdexcept>

#include "mts/core/runtime/errors.h"

namespace mts {

int64_t LinearState::bytes() const {
    return history.defined() ? history.numel() * static_cast<int64_t>(history.element_size()) : 0;
}

LinearLMImpl::LinearLMImpl(ModelConfig config) : LanguageModelImpl(std::move(config)) {
    m_config.validate();
    if (m_config.arch != Architecture::Linear) throw ConfigError("arch: LinearLM needs arch = linear");
    const int64_t v = m_config.paddedVocab(), d = m_config.dModel, c = m_config.context;
    embeddings = register_module("embeddings", torch::nn::Embedding(v, d));
    projWeight = register_parameter("proj_weight", torch::empty({v, d, c}));
    projBias = register_parameter("proj_bias", torch::zeros({v}));
    torch::NoGradGuard noGrad;
    embeddings->weight.normal_(0.0, m_config.initStd);
    projWeight.normal_(0.0, m_config.initStd);
}

torch::Tensor LinearLMImpl::forward(const torch::Tensor& ids) {
    if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != torch::kInt64)
        throw std::invalid_argument("Linear forward: ids must be (B, L) int64");
    const int64_t c = m_config.context;
    // config.dropout on the embeddings in training (the regulariser for small data).
    const torch::Tensor e =
        torch::dropout(embeddings(ids), m_config.dropout, is_training()).transpose(1, 2);  // (B, D, L)
    const torch::Tensor padded = torch::constant_pad_nd(e, {c - 1, 0}, 0.0);    // (B, D, L+C-1)
    const torch::Tensor weight = projWeight.to(padded.scalar_type());
    return torch::conv1d(padded, weight, projBias.to(padded.scalar_type())).transpose(1, 2);  // (B, L, V)
}

torch::Tensor LinearLMImpl::lastLogits(const torch::Tensor& ids) {
    const int64_t c = m_config.context, t = ids.size(1);
    const int64_t w = std::min(c, t);
    const torch::Tensor e = embeddings(ids.narrow(1, t - w, w));                     // (B, w, D)
    const torch::Tensor weight = projWeight.narrow(2, c - w, w);                     // (V, D, w)
    return torch::einsum("bwd,vdw->bv", {e, weight.to(e.scalar_type())}) + projBias;  // (B, V)
}

namespace {

LinearState& asLinearState(DecodeState& state) {
    auto* s = dynamic_cast<LinearState*>(&state);
    if (!s) throw std::invalid_argument("Linear: decode state was not created by a Linear model");
    return *s;
}

}  // namespace

std::unique_ptr<DecodeState> LinearLMImpl::newState(int64_t batch) {
    auto state = std::make_unique<LinearState>();
    state->history = torch::zeros({batch, 0}, torch::TensorOptions().dtype(torch::kInt64).device(projBias.device()));
    return state;
}

torch::Tensor LinearLMImpl::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != torch::kInt64 || ids.size(1) == 0)
        throw std::invalid_argument("Linear prefill: ids must be a non-empty (B, L) int64 tensor");
    LinearState& state = asLinearState(stateBase);
    if (state.history.size(0) != ids.size(0)) throw std::invalid_argument("Linear prefill: batch size mismatch");
    const torch::Tensor full = torch::cat({state.history, ids}, 1);
    const int64_t keep = std::min<int64_t>(m_config.context - 1, full.size(1));
    state.history = full.narrow(1, full.size(1) - keep, keep).contiguous();
    state.tokens += ids.size(1);
    return lastLogits(full);
}

torch::Tensor LinearLMImpl::step(const torch::Tensor& ids, DecodeState& state) {
    if (!ids.defined() || ids.dim() != 1) throw std::invalid_argument("Linear step: ids must be (B,)");
    return prefill(ids.unsqueeze(1), state);
}

}  // namespace mts

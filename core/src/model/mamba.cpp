// Mamba blocks, backbone and the language model (parallel forward, prefill, recurrent step).
#include "mts/core/model/mamba.h"

#include "model/check_ids.h"

#include <stdexcept>

#include "model/grad_checkpoint.h"
#include "mts/core/runtime/errors.h"

namespace mts {

using detail::checkIds;

MambaBlockImpl::MambaBlockImpl(const ModelConfig& config) {
    norm = register_module("norm", RMSNorm(config.dModel, config.normEps));
    mixer = register_module("mixer", MambaMixer(config));
    if (config.residualGate) residual_gate = register_parameter("residual_gate", torch::ones({config.dModel}));
    if (config.blockLayerNorm)
        out_norm = register_module("out_norm", torch::nn::LayerNorm(
                                                   torch::nn::LayerNormOptions({config.dModel}).eps(config.normEps)));
    dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
}

torch::Tensor MambaBlockImpl::finish(const torch::Tensor& x, torch::Tensor y) {
    y = dropout(y);
    if (residual_gate.defined()) y = y * residual_gate;
    // The mixer's output is bf16 under autocast: widened first, as LibTorch's mixed-dtype add
    // is a scalar casting loop (~4x a vectorised conversion plus a same-dtype add).
    if (y.scalar_type() != x.scalar_type()) y = y.to(x.scalar_type());
    torch::Tensor out = x + y;
    if (!out_norm.is_empty()) out = out_norm(out);
    return out;
}

torch::Tensor MambaBlockImpl::forward(const torch::Tensor& x, MambaLayerState* state) {
    return finish(x, mixer->forward(norm(x), state));
}

torch::Tensor MambaBlockImpl::step(const torch::Tensor& x, MambaLayerState& state) {
    return finish(x, mixer->step(norm(x), state));
}

MambaBackboneImpl::MambaBackboneImpl(const ModelConfig& config) {
    embeddings = register_module("embeddings", torch::nn::Embedding(config.paddedVocab(), config.dModel));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.nLayer; ++i) {
        MambaBlock block(config);
        layers->push_back(block);
        blocks.push_back(block);
    }
    norm_f = register_module("norm_f", RMSNorm(config.dModel, config.normEps));
    torch::NoGradGuard noGrad;
    embeddings->weight.normal_(0.0, config.initStd);
}

int64_t MambaState::bytes() const {
    int64_t total = 0;
    for (const auto& l : layers) {
        if (l.conv.defined()) total += l.conv.numel() * static_cast<int64_t>(l.conv.element_size());
        if (l.ssm.defined()) total += l.ssm.numel() * static_cast<int64_t>(l.ssm.element_size());
    }
    return total;
}

MambaLMImpl::MambaLMImpl(ModelConfig config) : LanguageModelImpl(std::move(config)) {
    m_config.validate();
    if (m_config.arch != Architecture::Mamba) throw ConfigError("arch: MambaLM needs arch = mamba");
    backbone = register_module("backbone", MambaBackbone(m_config));
    if (!m_config.tieEmbeddings) {
        lm_head = register_module("lm_head", torch::nn::Linear(
                                                 torch::nn::LinearOptions(m_config.dModel, m_config.paddedVocab()).bias(false)));
        torch::NoGradGuard noGrad;
        lm_head->weight.normal_(0.0, m_config.initStd);
    }
}

torch::Tensor MambaLMImpl::head(const torch::Tensor& h) {
    const torch::Tensor normed = backbone->norm_f(h);
    return torch::linear(normed, lm_head.is_empty() ? backbone->embeddings->weight : lm_head->weight);
}

namespace {

MambaState& asMambaState(DecodeState& state) {
    auto* s = dynamic_cast<MambaState*>(&state);
    if (!s) throw std::invalid_argument("Mamba: decode state was not created by a Mamba model");
    return *s;
}

}  // namespace

torch::Tensor MambaLMImpl::forward(const torch::Tensor& ids) {
    checkIds(ids, 2, "Mamba forward");
    torch::Tensor h = backbone->embeddings(ids);  // (B, L, D)
    const bool checkpoint = m_gradientCheckpointing && torch::GradMode::is_enabled();
    for (auto& block : backbone->blocks) {
        if (checkpoint) {
            MambaBlock b = block;
            h = detail::checkpointBlock([b](const torch::Tensor& x) mutable { return b->forward(x); }, h, b->parameters(),
                                        /*replayRng=*/is_training() && m_config.dropout > 0.0);
        } else {
            h = block->forward(h);
        }
    }
    return head(h);  // (B, L, V)
}

std::unique_ptr<DecodeState> MambaLMImpl::newState(int64_t batch) {
    auto state = std::make_unique<MambaState>();
    const auto options = backbone->embeddings->weight.options().requires_grad(false);
    for (int64_t i = 0; i < m_config.nLayer; ++i) {
        MambaLayerState l;
        l.conv = torch::zeros({batch, m_config.dInner(), m_config.dConv - 1}, options);
        l.ssm = torch::zeros({batch, m_config.dInner(), m_config.dState}, options.dtype(torch::kFloat32));
        state->layers.push_back(std::move(l));
    }
    return state;
}

torch::Tensor MambaLMImpl::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 2, "Mamba prefill");
    MambaState& state = asMambaState(stateBase);
    if (ids.size(1) == 0) throw std::invalid_argument("Mamba prefill: empty prompt");
    if (static_cast<int64_t>(state.layers.size()) != m_config.nLayer || state.layers[0].ssm.size(0) != ids.size(0))
        throw std::invalid_argument("Mamba prefill: state does not match the model or batch size");
    torch::Tensor h = backbone->embeddings(ids);
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->forward(h, &state.layers[i]);
    state.tokens += ids.size(1);
    return head(h.select(1, h.size(1) - 1));  // (B, V)
}

torch::Tensor MambaLMImpl::step(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 1, "Mamba step");
    MambaState& state = asMambaState(stateBase);
    if (static_cast<int64_t>(state.layers.size()) != m_config.nLayer || state.layers[0].ssm.size(0) != ids.size(0))
        throw std::invalid_argument("Mamba step: state does not match the model or batch size");
    torch::Tensor h = backbone->embeddings(ids);  // (B, D)
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->step(h, state.layers[i]);
    state.tokens += 1;
    return head(h);  // (B, V)
}

int64_t MambaLMImpl::numNonEmbeddingParameters() const {
    return numParameters() - backbone->embeddings->weight.numel();
}

}  // namespace mts

// Mamba-2 blocks, backbone and the language model (parallel forward, prefill, recurrent step).
#include "mts/core/model/mamba2.h"

#include "model/check_ids.h"

#include <stdexcept>

#include "model/grad_checkpoint.h"
#include "mts/core/runtime/errors.h"

namespace mts {

using detail::checkIds;

Mamba2BlockImpl::Mamba2BlockImpl(const ModelConfig& config) {
    norm = register_module("norm", RMSNorm(config.dModel, config.normEps));
    mixer = register_module("mixer", Mamba2Mixer(config));
    dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
}

torch::Tensor Mamba2BlockImpl::finish(const torch::Tensor& x, torch::Tensor y) {
    y = dropout(y);
    // bf16 under autocast: widened first (see MambaBlockImpl::finish).
    if (y.scalar_type() != x.scalar_type()) y = y.to(x.scalar_type());
    return x + y;
}

torch::Tensor Mamba2BlockImpl::forward(const torch::Tensor& x, Mamba2LayerState* state) {
    return finish(x, mixer->forward(norm(x), state));
}

torch::Tensor Mamba2BlockImpl::step(const torch::Tensor& x, Mamba2LayerState& state) {
    return finish(x, mixer->step(norm(x), state));
}

Mamba2BackboneImpl::Mamba2BackboneImpl(const ModelConfig& config) {
    embeddings = register_module("embeddings", torch::nn::Embedding(config.paddedVocab(), config.dModel));
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.nLayer; ++i) {
        Mamba2Block block(config);
        layers->push_back(block);
        blocks.push_back(block);
    }
    norm_f = register_module("norm_f", RMSNorm(config.dModel, config.normEps));
    torch::NoGradGuard noGrad;
    embeddings->weight.normal_(0.0, config.initStd);
}

int64_t Mamba2State::bytes() const {
    int64_t total = 0;
    for (const auto& l : layers) {
        if (l.conv.defined()) total += l.conv.numel() * static_cast<int64_t>(l.conv.element_size());
        if (l.ssm.defined()) total += l.ssm.numel() * static_cast<int64_t>(l.ssm.element_size());
    }
    return total;
}

Mamba2LMImpl::Mamba2LMImpl(ModelConfig config) : LanguageModelImpl(std::move(config)) {
    m_config.validate();
    if (m_config.arch != Architecture::Mamba2) throw ConfigError("arch: Mamba2LM needs arch = mamba2");
    backbone = register_module("backbone", Mamba2Backbone(m_config));
    if (!m_config.tieEmbeddings) {
        lm_head = register_module("lm_head", torch::nn::Linear(
                                                 torch::nn::LinearOptions(m_config.dModel, m_config.paddedVocab()).bias(false)));
        torch::NoGradGuard noGrad;
        lm_head->weight.normal_(0.0, m_config.initStd);
    }
}

torch::Tensor Mamba2LMImpl::head(const torch::Tensor& h) {
    const torch::Tensor normed = backbone->norm_f(h);
    return torch::linear(normed, lm_head.is_empty() ? backbone->embeddings->weight : lm_head->weight);
}

namespace {

Mamba2State& asMamba2State(DecodeState& state, const ModelConfig& c, int64_t batch, const char* what) {
    auto* s = dynamic_cast<Mamba2State*>(&state);
    if (!s) throw std::invalid_argument(std::string(what) + ": decode state was not created by a Mamba-2 model");
    if (static_cast<int64_t>(s->layers.size()) != c.nLayer || s->layers[0].ssm.size(0) != batch)
        throw std::invalid_argument(std::string(what) + ": state does not match the model or batch size");
    return *s;
}

}  // namespace

torch::Tensor Mamba2LMImpl::forward(const torch::Tensor& ids) {
    checkIds(ids, 2, "Mamba-2 forward");
    torch::Tensor h = backbone->embeddings(ids);  // (B, L, D)
    const bool checkpoint = m_gradientCheckpointing && torch::GradMode::is_enabled();
    for (auto& block : backbone->blocks) {
        if (checkpoint) {
            Mamba2Block b = block;
            h = detail::checkpointBlock([b](const torch::Tensor& x) mutable { return b->forward(x); }, h, b->parameters(),
                                        /*replayRng=*/is_training() && m_config.dropout > 0.0);
        } else {
            h = block->forward(h);
        }
    }
    return head(h);  // (B, L, V)
}

std::unique_ptr<DecodeState> Mamba2LMImpl::newState(int64_t batch) {
    auto state = std::make_unique<Mamba2State>();
    const auto options = backbone->embeddings->weight.options().requires_grad(false);
    // float32 states (float64 for a float64 model, as in the parity tests).
    const auto ssmType = options.dtype() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const int64_t heads = m_config.dInner() / m_config.headDim;
    const int64_t convDim = m_config.dInner() + 2 * m_config.nGroups * m_config.dState;
    for (int64_t i = 0; i < m_config.nLayer; ++i) {
        Mamba2LayerState l;
        l.conv = torch::zeros({batch, convDim, m_config.dConv - 1}, options);
        l.ssm = torch::zeros({batch, heads, m_config.headDim, m_config.dState}, options.dtype(ssmType));
        state->layers.push_back(std::move(l));
    }
    return state;
}

torch::Tensor Mamba2LMImpl::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 2, "Mamba-2 prefill");
    if (ids.size(1) == 0) throw std::invalid_argument("Mamba-2 prefill: empty prompt");
    Mamba2State& state = asMamba2State(stateBase, m_config, ids.size(0), "Mamba-2 prefill");
    torch::Tensor h = backbone->embeddings(ids);
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->forward(h, &state.layers[i]);
    state.tokens += ids.size(1);
    return head(h.select(1, h.size(1) - 1));  // (B, V)
}

torch::Tensor Mamba2LMImpl::step(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 1, "Mamba-2 step");
    Mamba2State& state = asMamba2State(stateBase, m_config, ids.size(0), "Mamba-2 step");
    torch::Tensor h = backbone->embeddings(ids);  // (B, D)
    for (size_t i = 0; i < backbone->blocks.size(); ++i) h = backbone->blocks[i]->step(h, state.layers[i]);
    state.tokens += 1;
    return head(h);  // (B, V)
}

int64_t Mamba2LMImpl::numNonEmbeddingParameters() const {
    return numParameters() - backbone->embeddings->weight.numel();
}

}  // namespace mts

// Mamba-2 blocks and the language model (the shell: recurrent_lm.h; here its state shapes).
#include "mts/core/model/mamba2.h"

#include "model/recurrent_lm_impl.h"

namespace mts {

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

template class RecurrentLMImpl<Mamba2Block, Mamba2LayerState>;

Mamba2LMImpl::Mamba2LMImpl(ModelConfig config)
    : RecurrentLMImpl(std::move(config), Architecture::Mamba2, "Mamba-2") {}

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

}  // namespace mts

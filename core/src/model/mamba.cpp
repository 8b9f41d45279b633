// Mamba blocks and the language model (the shell: recurrent_lm.h; here its state shapes).
#include "mts/core/model/mamba.h"

#include "model/recurrent_lm_impl.h"

namespace mts {

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

template class RecurrentLMImpl<MambaBlock, MambaLayerState>;

MambaLMImpl::MambaLMImpl(ModelConfig config) : RecurrentLMImpl(std::move(config), Architecture::Mamba, "Mamba") {}

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

}  // namespace mts

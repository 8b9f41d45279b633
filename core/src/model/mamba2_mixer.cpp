// The Mamba-2 mixer: in_proj -> [z | xBC | dt]; causal depthwise conv + SiLU over xBC; split
// into x (heads), B, C (groups); dt = softplus(dt + dt_bias); SSD (A = -exp(A_log), D skip);
// gated RMSNorm with z; out_proj. Token-major throughout.
#include <cmath>

#include "mts/core/kernels/causal_conv.h"
#include "mts/core/kernels/fused_ops.h"
#include "mts/core/kernels/gated_rms_norm.h"
#include "mts/core/kernels/ssd.h"
#include "mts/core/kernels/ssd_cpu.h"
#include "mts/core/model/mamba2.h"

namespace mts {

namespace {

// float64 for float64 models (the gradient and parity checks), else float32.
torch::ScalarType computeType(const torch::Tensor& like) {
    return like.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

}  // namespace

GatedRMSNormImpl::GatedRMSNormImpl(int64_t dim, int64_t groups, double eps) : m_groups(groups), m_eps(eps) {
    weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor GatedRMSNormImpl::forward(const torch::Tensor& y, const torch::Tensor& z) {
    // CPU: one fused pass each way (bf16 in and out under autocast); elsewhere the tensor ops.
    return gatedRmsNorm(y, z, weight, m_groups, m_eps);
}

Mamba2MixerImpl::Mamba2MixerImpl(const ModelConfig& config) : m_config(config) {
    const int64_t d = config.dModel, di = config.dInner(), gn = config.nGroups * config.dState;
    m_heads = di / config.headDim;
    m_convDim = di + 2 * gn;
    in_proj = register_module(
        "in_proj", torch::nn::Linear(torch::nn::LinearOptions(d, 2 * di + 2 * gn + m_heads).bias(config.projBias)));
    conv1d = register_module("conv1d", torch::nn::Conv1d(torch::nn::Conv1dOptions(m_convDim, m_convDim, config.dConv)
                                                             .groups(m_convDim)
                                                             .padding(config.dConv - 1)
                                                             .bias(config.convBias)));
    dt_bias = register_parameter("dt_bias", torch::empty({m_heads}));
    A_log = register_parameter("A_log", torch::empty({m_heads}));
    D = register_parameter("D", torch::empty({m_heads}));
    norm = register_module("norm", GatedRMSNorm(di, config.nGroups, config.normEps));
    out_proj = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(di, d).bias(config.projBias)));
    resetParameters();
}

void Mamba2MixerImpl::resetParameters() {
    torch::NoGradGuard noGrad;
    // in_proj and conv1d keep PyTorch's default (kaiming-uniform) init, as mamba_ssm does.
    if (in_proj->bias.defined()) in_proj->bias.zero_();
    const double logMin = std::log(m_config.dtMin), logMax = std::log(m_config.dtMax);
    const torch::Tensor dt =
        torch::exp(torch::rand({m_heads}) * (logMax - logMin) + logMin).clamp_min(m_config.dtInitFloor);
    dt_bias.copy_(dt + torch::log(-torch::expm1(-dt)));  // softplus^-1(dt)
    A_log.copy_(torch::log(torch::empty({m_heads}).uniform_(1.0, 16.0)));
    D.fill_(1.0);
    norm->weight.fill_(1.0);
    out_proj->reset_parameters();
    out_proj->weight.div_(std::sqrt(static_cast<double>(m_config.nLayer)));
    if (out_proj->bias.defined()) out_proj->bias.zero_();
}

torch::Tensor Mamba2MixerImpl::forward(const torch::Tensor& hidden, Mamba2LayerState* state) {
    const int64_t batch = hidden.size(0), len = hidden.size(1);
    const int64_t di = m_config.dInner(), g = m_config.nGroups, n = m_config.dState, k = m_config.dConv;
    const int64_t h = m_heads, p = m_config.headDim;

    const std::vector<torch::Tensor> parts = splitLastDim(in_proj(hidden), {di, m_convDim, h});  // z | xBC | dt
    const torch::Tensor& z = parts[0];    // (B, L, D_inner)
    const torch::Tensor& xbc = parts[1];  // (B, L, C_conv)

    torch::Tensor left;  // (B, K-1, C_conv) previous inputs, or zeros
    if (state) left = state->conv.transpose(1, 2).to(xbc.scalar_type()).contiguous();
    torch::Tensor xc;
    if (causalConvFused(xbc.device(), k)) {
        xc = causalConv1dSilu(xbc, conv1d->weight, conv1d->bias, /*silu=*/true, left);
    } else {
        if (!left.defined()) left = torch::zeros({batch, k - 1, m_convDim}, xbc.options());
        const torch::Tensor xpad = torch::cat({left, xbc}, 1);                     // (B, L+K-1, C_conv)
        const torch::Tensor w = conv1d->weight.squeeze(1);                        // (C_conv, K)
        xc = xpad.narrow(1, 0, len) * w.select(1, 0);
        for (int64_t j = 1; j < k; ++j) xc = xc + xpad.narrow(1, j, len) * w.select(1, j);
        if (conv1d->bias.defined()) xc = xc + conv1d->bias;
        xc = torch::silu(xc);
    }
    if (state) {
        const torch::Tensor all = left.defined() ? torch::cat({left, xbc}, 1) : xbc;
        state->conv = all.narrow(1, all.size(1) - (k - 1), k - 1).transpose(1, 2).detach().contiguous();
    }

    SsdInputs in;
    const std::vector<torch::Tensor> xbcParts = splitLastDim(xc, {di, g * n, g * n});  // one concat backward
    in.x = xbcParts[0].reshape({batch, len, h, p});
    in.Bm = xbcParts[1].reshape({batch, len, g, n});
    in.Cm = xbcParts[2].reshape({batch, len, g, n});
    const auto ct = computeType(dt_bias);
    in.dt = torch::softplus(parts[2].to(ct) + dt_bias);                          // (B, L, H)
    in.A = -torch::exp(A_log);
    in.D = D;
    if (state) in.initialState = state->ssm;
    // CPU: the fused kernels (ssd_cpu.h); other devices: the chunked form in tensor ops.
    SsdOutputs out = hidden.device().is_cpu()
                         ? ssdFusedCpu(in, m_config.chunkSize, /*returnFinalState=*/state != nullptr)
                         : ssdChunked(in, m_config.chunkSize, /*returnFinalState=*/state != nullptr);
    if (state) state->ssm = out.finalState.detach().to(state->ssm.scalar_type());
    const torch::Tensor y = norm(out.y.reshape({batch, len, di}), z);             // (B, L, D_inner) fp32
    return out_proj(y);
}

torch::Tensor Mamba2MixerImpl::step(const torch::Tensor& hidden, Mamba2LayerState& state) {
    const int64_t batch = hidden.size(0);
    const int64_t di = m_config.dInner(), g = m_config.nGroups, n = m_config.dState, k = m_config.dConv;
    const int64_t h = m_heads, p = m_config.headDim;

    const torch::Tensor proj = in_proj(hidden);                                    // (B, 2 D_inner + 2GN + H)
    const torch::Tensor z = proj.narrow(-1, 0, di);
    const torch::Tensor xbc = proj.narrow(-1, di, m_convDim);
    const torch::Tensor dtRaw = proj.narrow(-1, di + m_convDim, h);

    const torch::Tensor window = torch::cat({state.conv.to(xbc.scalar_type()), xbc.unsqueeze(-1)}, -1);  // (B, C_conv, K)
    state.conv = window.narrow(-1, 1, k - 1).detach().contiguous();
    torch::Tensor xc = (window * conv1d->weight.squeeze(1)).sum(-1);              // (B, C_conv)
    if (conv1d->bias.defined()) xc = xc + conv1d->bias;
    xc = torch::silu(xc);

    const torch::Tensor x = xc.narrow(-1, 0, di).reshape({batch, h, p});
    const torch::Tensor bm = xc.narrow(-1, di, g * n).reshape({batch, g, n});
    const torch::Tensor cm = xc.narrow(-1, di + g * n, g * n).reshape({batch, g, n});
    const torch::Tensor dt = torch::softplus(dtRaw.to(computeType(dt_bias)) + dt_bias);  // (B, H)
    const torch::Tensor y = ssdStep(x, dt, -torch::exp(A_log), bm, cm, D, state.ssm);
    return out_proj(norm(y.reshape({batch, di}), z));
}

}  // namespace mts

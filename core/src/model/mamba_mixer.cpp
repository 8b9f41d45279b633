// The Mamba mixer: in_proj -> causal depthwise conv -> SiLU -> x_proj -> dt_proj + softplus ->
// selective scan (A = -exp(A_log), D skip, SiLU(z) gate) -> out_proj. Token-major throughout,
// so the scan consumes the projections without transposes.
#include <cmath>

#include "mts/core/kernels/causal_conv.h"
#include "mts/core/kernels/fused_ops.h"
#include "mts/core/kernels/rms_norm.h"
#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/mamba.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : m_eps(eps) {
    weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
    // Under CPU bf16 autocast the norm's output only feeds linears (in_proj, lm_head), which
    // would cast it to bf16: the kernel writes it in bf16 itself.
    const auto [autocast, dtype] = compat::autocastState(c10::DeviceType::CPU);
    return rmsNorm(x, weight, m_eps, autocast && dtype == torch::kBFloat16 && x.is_cpu());
}

MambaMixerImpl::MambaMixerImpl(const ModelConfig& config) : m_config(config) {
    const int64_t d = config.dModel, di = config.dInner(), n = config.dState, r = config.resolvedDtRank();
    in_proj = register_module("in_proj", torch::nn::Linear(torch::nn::LinearOptions(d, 2 * di).bias(config.projBias)));
    conv1d = register_module("conv1d", torch::nn::Conv1d(torch::nn::Conv1dOptions(di, di, config.dConv)
                                                             .groups(di)
                                                             .padding(config.dConv - 1)
                                                             .bias(config.convBias)));
    x_proj = register_module("x_proj", torch::nn::Linear(torch::nn::LinearOptions(di, r + 2 * n).bias(false)));
    dt_proj = register_module("dt_proj", torch::nn::Linear(torch::nn::LinearOptions(r, di).bias(true)));
    A_log = register_parameter("A_log", torch::empty({di, n}));
    D = register_parameter("D", torch::empty({di}));
    out_proj = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(di, d).bias(config.projBias)));
    resetParameters();
}

void MambaMixerImpl::resetParameters() {
    torch::NoGradGuard noGrad;
    const int64_t di = m_config.dInner(), n = m_config.dState, r = m_config.resolvedDtRank();
    // in_proj, x_proj, conv1d keep PyTorch's default (kaiming-uniform) init, as upstream does.
    if (in_proj->bias.defined()) in_proj->bias.zero_();

    const double dtInitStd = std::pow(static_cast<double>(r), -0.5) * m_config.dtScale;
    dt_proj->weight.uniform_(-dtInitStd, dtInitStd);
    // softplus(bias) log-uniform in [dt_min, dt_max]; bias = softplus^-1(dt) = dt + log(-expm1(-dt)).
    const double logMin = std::log(m_config.dtMin), logMax = std::log(m_config.dtMax);
    torch::Tensor dt = torch::exp(torch::rand({di}) * (logMax - logMin) + logMin).clamp_min(m_config.dtInitFloor);
    dt_proj->bias.copy_(dt + torch::log(-torch::expm1(-dt)));

    A_log.copy_(torch::log(torch::arange(1, n + 1, torch::kFloat32)).unsqueeze(0).expand({di, n}));
    D.fill_(1.0);

    // Residual output projection: kaiming-uniform (the default) / sqrt(n_residuals_per_layer * n_layer).
    out_proj->reset_parameters();
    out_proj->weight.div_(std::sqrt(static_cast<double>(m_config.nLayer)));
    if (out_proj->bias.defined()) out_proj->bias.zero_();
}

torch::Tensor MambaMixerImpl::activation(const torch::Tensor& x) const {
    return m_config.gelu ? torch::gelu(x) : torch::silu(x);
}

torch::Tensor MambaMixerImpl::forward(const torch::Tensor& hidden, MambaLayerState* state) {
    const int64_t batch = hidden.size(0), len = hidden.size(1);
    const int64_t di = m_config.dInner(), n = m_config.dState, r = m_config.resolvedDtRank();
    const int64_t k = m_config.dConv;

    const std::vector<torch::Tensor> xz = splitLastDim(in_proj(hidden), {di, di});  // in_proj: (B, L, 2*D_inner)
    const torch::Tensor& x = xz[0];                                     // (B, L, D_inner)
    const torch::Tensor& z = xz[1];                                     // (B, L, D_inner)

    // Causal depthwise conv, token-major: left context is the previous K-1 inputs (zeros at the start).
    torch::Tensor xc;
    if (!state && causalConvFused(x.device(), k)) {
        // Fused conv + SiLU kernel (CPU or CUDA): one pass each way instead of ~10 tensor ops.
        xc = causalConv1dSilu(x, conv1d->weight, conv1d->bias, /*silu=*/!m_config.gelu);
        if (m_config.gelu) xc = torch::gelu(xc);
    } else {
    torch::Tensor left = state ? state->conv.transpose(1, 2).to(x.scalar_type())
                               : torch::zeros({batch, k - 1, di}, x.options());
    const torch::Tensor xpad = torch::cat({left, x}, 1);                    // (B, L+K-1, D_inner)
    if (state) state->conv = xpad.narrow(1, xpad.size(1) - (k - 1), k - 1).transpose(1, 2).detach().contiguous();
    const torch::Tensor w = conv1d->weight.squeeze(1);                       // (D_inner, K)
    xc = xpad.narrow(1, 0, len) * w.select(1, 0);
    for (int64_t j = 1; j < k; ++j) xc = xc + xpad.narrow(1, j, len) * w.select(1, j);
    if (conv1d->bias.defined()) xc = xc + conv1d->bias;
    xc = activation(xc);                                                     // (B, L, D_inner)
    }

    const std::vector<torch::Tensor> xdbl = splitLastDim(x_proj(xc), {r, n, n});  // x_proj: (B, L, R + 2N)
    const torch::Tensor& dtLow = xdbl[0];                                    // (B, L, R)
    // The (B, L, D_inner) activations go to the scan in the dtype they have (bf16 under autocast,
    // read and written as such by the fused kernel, which computes in fp32); the small tensors
    // in fp32.
    ScanInputs in;
    in.u = xc;
    // dtLow is a slice (rows R + 2N apart): copied first, as oneDNN's bf16 matmul with such a
    // K = R operand ran ~3x slower than the copy and the packed product together.
    in.delta = torch::linear(dtLow.contiguous(), dt_proj->weight);           // (B, L, D_inner), bias in the scan
    in.deltaBias = dt_proj->bias.to(torch::kFloat32);
    in.deltaSoftplus = true;
    in.A = -torch::exp(A_log.to(torch::kFloat32));                          // (D_inner, N)
    in.Bm = xdbl[1].to(torch::kFloat32).contiguous();                        // (B, L, N)
    in.Cm = xdbl[2].to(torch::kFloat32).contiguous();                        // (B, L, N)
    in.Dskip = D.to(torch::kFloat32);
    if (!m_config.gelu) in.z = z;
    if (state) in.initialState = state->ssm;

    ScanOutputs out = selectiveScan(in, /*returnLastState=*/state != nullptr);
    torch::Tensor y = out.y;                                                 // (B, L, D_inner)
    if (m_config.gelu) y = y * torch::gelu(z.to(torch::kFloat32));
    if (state) state->ssm = out.lastState.detach();
    return out_proj(y);
}

torch::Tensor MambaMixerImpl::step(const torch::Tensor& hidden, MambaLayerState& state) {
    const int64_t di = m_config.dInner(), n = m_config.dState, r = m_config.resolvedDtRank();
    const int64_t k = m_config.dConv;

    const torch::Tensor xz = in_proj(hidden);     // (B, 2*D_inner)
    const torch::Tensor x = xz.narrow(-1, 0, di);
    const torch::Tensor z = xz.narrow(-1, di, di);

    const torch::Tensor window = torch::cat({state.conv.to(x.scalar_type()), x.unsqueeze(-1)}, -1);  // (B, D_inner, K)
    state.conv = window.narrow(-1, 1, k - 1).detach().contiguous();
    torch::Tensor xc = (window * conv1d->weight.squeeze(1)).sum(-1);        // (B, D_inner)
    if (conv1d->bias.defined()) xc = xc + conv1d->bias;
    xc = activation(xc);

    const torch::Tensor xdbl = x_proj(xc);                                   // (B, R + 2N)
    const torch::Tensor u = xc.to(torch::kFloat32);
    const torch::Tensor delta = torch::softplus(
        (torch::linear(xdbl.narrow(-1, 0, r), dt_proj->weight) + dt_proj->bias).to(torch::kFloat32));  // (B, D_inner)
    const torch::Tensor bm = xdbl.narrow(-1, r, n).to(torch::kFloat32);     // (B, N)
    const torch::Tensor cm = xdbl.narrow(-1, r + n, n).to(torch::kFloat32); // (B, N)
    const torch::Tensor a = -torch::exp(A_log.to(torch::kFloat32));         // (D_inner, N)

    torch::Tensor h = torch::exp(delta.unsqueeze(-1) * a) * state.ssm +
                      (delta * u).unsqueeze(-1) * bm.unsqueeze(1);           // (B, D_inner, N)
    state.ssm = h.detach();
    torch::Tensor y = (h * cm.unsqueeze(1)).sum(-1) + u * D.to(torch::kFloat32);  // (B, D_inner)
    y = y * activation(z.to(torch::kFloat32));
    return out_proj(y);
}

}  // namespace mts

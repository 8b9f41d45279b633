// One Mamba-2 block per token on raw vectors: RMSNorm -> in_proj (z, xBC, dt) -> conv state
// update over xBC -> SiLU -> dt = softplus(dt + dt_bias) -> per-head SSD state update with D
// skip -> gated RMSNorm (y * silu(z), per group) -> out_proj -> residual add. The state lives in
// flat fp32 arrays laid out as Mamba2LayerState's batch-1 tensors: conv (C_conv, K-1),
// ssm (H, P, N).
//
// No dt clamp: the model has no time_step_limit (the readers refuse a checkpoint with one), so
// dt = softplus(dt_raw + dt_bias) exactly as Mamba2MixerImpl::step computes it.
#include "generate/mamba2_decode_block.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "generate/decode_pack.h"

namespace mts {
namespace {

class Mamba2BlockState : public DecodeBlockState {
public:
    std::vector<float> conv;  // (C_conv, K-1)
    std::vector<float> ssm;   // (H, P, N)
    // scratch
    std::vector<float> normed, proj, xc, dt, y, out;
    int64_t bytes() const override { return static_cast<int64_t>((conv.size() + ssm.size()) * sizeof(float)); }
};

class Mamba2DecodeBlock : public DecodeBlock {
public:
    Mamba2DecodeBlock(Mamba2BlockImpl& block, const ModelConfig& c, decode::WeightType weights)
        : m_d(c.dModel), m_di(c.dInner()), m_n(c.dState), m_k(c.dConv), m_g(c.nGroups), m_p(c.headDim),
          m_h(c.dInner() / c.headDim), m_convDim(c.dInner() + 2 * c.nGroups * c.dState),
          m_eps(static_cast<float>(c.normEps)) {
        Mamba2MixerImpl& mx = *block.mixer;
        m_norm = detail::toFloatVector(block.norm->weight);
        m_inProj = detail::packWeight(mx.in_proj->weight, weights);  // (2 Di + 2 G N + H, D)
        m_inBias = detail::toFloatVector(mx.in_proj->bias);
        m_convW = detail::toFloatVector(mx.conv1d->weight);  // (C_conv, 1, K) -> (C_conv, K)
        m_convB = detail::toFloatVector(mx.conv1d->bias);
        m_dtBias = detail::toFloatVector(mx.dt_bias);
        m_A = detail::toFloatVector(-torch::exp(mx.A_log.detach().to(torch::kFloat32)));
        m_Dskip = detail::toFloatVector(mx.D);
        m_gateNorm = detail::toFloatVector(mx.norm->weight);
        m_outProj = detail::packWeight(mx.out_proj->weight, weights);
        m_outBias = detail::toFloatVector(mx.out_proj->bias);
    }

    std::unique_ptr<DecodeBlockState> newState() const override {
        auto s = std::make_unique<Mamba2BlockState>();
        s->conv.assign(static_cast<size_t>(m_convDim * (m_k - 1)), 0.0f);
        s->ssm.assign(static_cast<size_t>(m_h * m_p * m_n), 0.0f);
        s->normed.resize(m_d);
        s->proj.resize(m_inProj.rows);
        s->xc.resize(m_convDim);
        s->dt.resize(m_h);
        s->y.resize(m_di);
        s->out.resize(m_d);
        return s;
    }

    void step(float* residual, DecodeBlockState& base) const override {
        auto& s = static_cast<Mamba2BlockState&>(base);
        decode::rmsNorm(residual, m_norm.data(), m_eps, s.normed.data(), m_d);
        decode::matvec(m_inProj, s.normed.data(), s.proj.data());  // z | xBC | dt
        if (!m_inBias.empty())
            for (size_t i = 0; i < m_inBias.size(); ++i) s.proj[i] += m_inBias[i];
        float* z = s.proj.data();
        const float* xbc = z + m_di;
        const float* dtRaw = xbc + m_convDim;
        decode::convStep(xbc, m_convW.data(), m_convB.empty() ? nullptr : m_convB.data(), s.conv.data(), s.xc.data(),
                         m_convDim, m_k);
        decode::silu(s.xc.data(), s.xc.data(), m_convDim);
        const float* x = s.xc.data();         // (H, P)
        const float* bm = x + m_di;           // (G, N)
        const float* cm = bm + m_g * m_n;     // (G, N)
        for (int64_t h = 0; h < m_h; ++h) {  // softplus as in torch (threshold 20)
            const float v = dtRaw[h] + m_dtBias[h];
            s.dt[h] = v > 20.0f ? v : std::log1p(std::exp(v));
        }
        decode::ssdStateStep(x, s.dt.data(), m_A.data(), bm, cm, m_Dskip.data(), s.ssm.data(), s.y.data(), m_h, m_p,
                             m_g, m_n);
        gatedNorm(s.y.data(), z);
        decode::matvec(m_outProj, s.y.data(), s.out.data());
        for (int64_t i = 0; i < m_d; ++i) residual[i] += s.out[i] + (m_outBias.empty() ? 0.0f : m_outBias[i]);
    }

    void loadState(const DecodeState& trained, int64_t layer, DecodeBlockState& into) const override {
        const auto* ms = dynamic_cast<const Mamba2State*>(&trained);
        if (!ms || layer < 0 || layer >= static_cast<int64_t>(ms->layers.size()))
            throw std::invalid_argument("Mamba-2 decode block: the state is not a Mamba-2 state of this model");
        auto& s = static_cast<Mamba2BlockState&>(into);
        const Mamba2LayerState& l = ms->layers[static_cast<size_t>(layer)];
        if (l.conv.size(0) != 1 || l.ssm.size(0) != 1)
            throw std::invalid_argument("Mamba-2 decode block: the state must have batch 1");
        if (l.conv.numel() != static_cast<int64_t>(s.conv.size()) || l.ssm.numel() != static_cast<int64_t>(s.ssm.size()))
            throw std::invalid_argument("Mamba-2 decode block: the state's shapes do not match this model");
        s.conv = detail::toFloatVector(l.conv);  // (1, C_conv, K-1)
        s.ssm = detail::toFloatVector(l.ssm);    // (1, H, P, N)
    }

    int64_t weightBytes() const override {
        const auto f = [](const std::vector<float>& v) { return static_cast<int64_t>(v.size() * sizeof(float)); };
        return m_inProj.bytes() + m_outProj.bytes() + f(m_norm) + f(m_inBias) + f(m_convW) + f(m_convB) +
               f(m_dtBias) + f(m_A) + f(m_Dskip) + f(m_gateNorm) + f(m_outBias);
    }

private:
    // y = weight * g / sqrt(mean over each group of g^2 + eps), g = y * silu(z), in place on y.
    // z is overwritten with silu(z).
    void gatedNorm(float* y, float* z) const {
        decode::silu(z, z, m_di);
        const int64_t width = m_di / m_g;
        for (int64_t g = 0; g < m_g; ++g) {
            float* yg = y + g * width;
            const float* zg = z + g * width;
            double ss = 0.0;
            for (int64_t i = 0; i < width; ++i) {
                yg[i] *= zg[i];
                ss += static_cast<double>(yg[i]) * yg[i];
            }
            const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(width) + m_eps));
            const float* w = m_gateNorm.data() + g * width;
            for (int64_t i = 0; i < width; ++i) yg[i] = yg[i] * inv * w[i];
        }
    }

    int64_t m_d, m_di, m_n, m_k, m_g, m_p, m_h, m_convDim;
    float m_eps;
    std::vector<float> m_norm, m_inBias, m_convW, m_convB, m_dtBias, m_A, m_Dskip, m_gateNorm, m_outBias;
    decode::PackedMatrix m_inProj, m_outProj;
};

}  // namespace

std::unique_ptr<DecodeBlock> makeMamba2DecodeBlock(Mamba2BlockImpl& block, const ModelConfig& config,
                                                   decode::WeightType weights) {
    return std::make_unique<Mamba2DecodeBlock>(block, config, weights);
}

}  // namespace mts

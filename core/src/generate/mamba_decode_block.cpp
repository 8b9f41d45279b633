// One Mamba-1 block per token on raw vectors: RMSNorm -> in_proj -> conv state update -> SiLU ->
// x_proj -> dt_proj -> softplus -> selective state update with D skip and SiLU(z) gate ->
// out_proj -> (residual gate, LayerNorm) -> residual add. The state lives in flat fp32 arrays.
#include "generate/mamba_decode_block.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "generate/decode_pack.h"

namespace mts {
namespace {

void gelu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

class MambaBlockState : public DecodeBlockState {
public:
    std::vector<float> conv;  // (Di, K-1)
    std::vector<float> ssm;   // (Di, N)
    // scratch
    std::vector<float> normed, xz, xc, xdbl, delta, y, out, tmp;
    int64_t bytes() const override { return static_cast<int64_t>((conv.size() + ssm.size()) * sizeof(float)); }
};

class MambaDecodeBlock : public DecodeBlock {
public:
    MambaDecodeBlock(MambaBlockImpl& block, const ModelConfig& c, decode::WeightType weights)
        : m_d(c.dModel), m_di(c.dInner()), m_n(c.dState), m_r(c.resolvedDtRank()), m_k(c.dConv),
          m_eps(static_cast<float>(c.normEps)), m_gelu(c.gelu) {
        MambaMixerImpl& mx = *block.mixer;
        m_norm = detail::toFloatVector(block.norm->weight);
        m_inProj = detail::packWeight(mx.in_proj->weight, weights);
        m_inBias = detail::toFloatVector(mx.in_proj->bias);
        m_convW = detail::toFloatVector(mx.conv1d->weight);  // (Di, 1, K) -> (Di, K)
        m_convB = detail::toFloatVector(mx.conv1d->bias);
        m_xProj = detail::packWeight(mx.x_proj->weight, weights);
        m_dtProj = detail::packWeight(mx.dt_proj->weight, decode::WeightType::F32);
        m_dtBias = detail::toFloatVector(mx.dt_proj->bias);
        m_A = detail::toFloatVector(-torch::exp(mx.A_log.detach().to(torch::kFloat32)));
        m_Dskip = detail::toFloatVector(mx.D);
        m_outProj = detail::packWeight(mx.out_proj->weight, weights);
        m_outBias = detail::toFloatVector(mx.out_proj->bias);
        m_residualGate = detail::toFloatVector(block.residual_gate);
        if (!block.out_norm.is_empty()) {
            m_lnW = detail::toFloatVector(block.out_norm->weight);
            m_lnB = detail::toFloatVector(block.out_norm->bias);
        }
    }

    std::unique_ptr<DecodeBlockState> newState() const override {
        auto s = std::make_unique<MambaBlockState>();
        s->conv.assign(static_cast<size_t>(m_di * (m_k - 1)), 0.0f);
        s->ssm.assign(static_cast<size_t>(m_di * m_n), 0.0f);
        s->normed.resize(m_d);
        s->xz.resize(2 * m_di);
        s->xc.resize(m_di);
        s->xdbl.resize(m_r + 2 * m_n);
        s->delta.resize(m_di);
        s->y.resize(m_di);
        s->out.resize(m_d);
        s->tmp.resize(m_di * m_n + 2 * m_di);
        return s;
    }

    void step(float* residual, DecodeBlockState& base) const override {
        auto& s = static_cast<MambaBlockState&>(base);
        decode::rmsNorm(residual, m_norm.data(), m_eps, s.normed.data(), m_d);
        decode::matvec(m_inProj, s.normed.data(), s.xz.data());  // (2 Di): x, z
        if (!m_inBias.empty())
            for (int64_t i = 0; i < 2 * m_di; ++i) s.xz[i] += m_inBias[i];
        float* x = s.xz.data();
        float* z = s.xz.data() + m_di;
        decode::convStep(x, m_convW.data(), m_convB.empty() ? nullptr : m_convB.data(), s.conv.data(), s.xc.data(),
                         m_di, m_k);
        if (m_gelu) {
            gelu(s.xc.data(), m_di);
        } else {
            decode::silu(s.xc.data(), s.xc.data(), m_di);
        }
        decode::matvec(m_xProj, s.xc.data(), s.xdbl.data());  // (R + 2N): dt, B, C
        decode::matvec(m_dtProj, s.xdbl.data(), s.delta.data());
        const float* bm = s.xdbl.data() + m_r;
        const float* cm = bm + m_n;
        decode::ssmStep(s.xc.data(), s.delta.data(), m_dtBias.data(), m_A.data(), bm, cm, m_Dskip.data(),
                        m_gelu ? nullptr : z, s.ssm.data(), s.y.data(), m_di, m_n, s.tmp.data());
        if (m_gelu) {
            gelu(z, m_di);
            for (int64_t i = 0; i < m_di; ++i) s.y[i] *= z[i];
        }
        decode::matvec(m_outProj, s.y.data(), s.out.data());
        for (int64_t i = 0; i < m_d; ++i) {
            float v = s.out[i] + (m_outBias.empty() ? 0.0f : m_outBias[i]);
            if (!m_residualGate.empty()) v *= m_residualGate[i];
            residual[i] += v;
        }
        if (!m_lnW.empty()) layerNorm(residual);
    }

    void loadState(const DecodeState& trained, int64_t layer, DecodeBlockState& into) const override {
        const auto* ms = dynamic_cast<const MambaState*>(&trained);
        if (!ms || layer < 0 || layer >= static_cast<int64_t>(ms->layers.size()))
            throw std::invalid_argument("Mamba decode block: the state is not a Mamba state of this model");
        auto& s = static_cast<MambaBlockState&>(into);
        const MambaLayerState& l = ms->layers[static_cast<size_t>(layer)];
        if (l.conv.size(0) != 1 || l.ssm.size(0) != 1)
            throw std::invalid_argument("Mamba decode block: the state must have batch 1");
        s.conv = detail::toFloatVector(l.conv);  // (1, Di, K-1)
        s.ssm = detail::toFloatVector(l.ssm);    // (1, Di, N)
    }

    int64_t weightBytes() const override {
        const auto f = [](const std::vector<float>& v) { return static_cast<int64_t>(v.size() * sizeof(float)); };
        return m_inProj.bytes() + m_xProj.bytes() + m_dtProj.bytes() + m_outProj.bytes() + f(m_norm) + f(m_inBias) +
               f(m_convW) + f(m_convB) + f(m_dtBias) + f(m_A) + f(m_Dskip) + f(m_outBias) + f(m_residualGate) +
               f(m_lnW) + f(m_lnB);
    }

private:
    void layerNorm(float* x) const {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < m_d; ++i) mean += x[i];
        mean /= static_cast<double>(m_d);
        for (int64_t i = 0; i < m_d; ++i) var += (x[i] - mean) * (x[i] - mean);
        var /= static_cast<double>(m_d);
        const double inv = 1.0 / std::sqrt(var + m_eps);
        for (int64_t i = 0; i < m_d; ++i)
            x[i] = static_cast<float>((x[i] - mean) * inv) * m_lnW[i] + (m_lnB.empty() ? 0.0f : m_lnB[i]);
    }

    int64_t m_d, m_di, m_n, m_r, m_k;
    float m_eps;
    bool m_gelu;
    std::vector<float> m_norm, m_inBias, m_convW, m_convB, m_dtBias, m_A, m_Dskip, m_outBias, m_residualGate, m_lnW,
        m_lnB;
    decode::PackedMatrix m_inProj, m_xProj, m_dtProj, m_outProj;
};

}  // namespace

std::unique_ptr<DecodeBlock> makeMambaDecodeBlock(MambaBlockImpl& block, const ModelConfig& config,
                                                  decode::WeightType weights) {
    return std::make_unique<MambaDecodeBlock>(block, config, weights);
}

}  // namespace mts

#include "mts/core/train/grad_scaler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mts {

GradScaler::GradScaler(GradScalerOptions o) : m_options(o) {
    if (!(std::isfinite(o.initScale) && o.initScale > 0))
        throw std::invalid_argument("grad scaler: init scale must be finite and positive");
    if (!(std::isfinite(o.growthFactor) && o.growthFactor > 1.0))
        throw std::invalid_argument("grad scaler: growth factor must be greater than 1");
    if (!(o.backoffFactor > 0.0 && o.backoffFactor < 1.0))
        throw std::invalid_argument("grad scaler: backoff factor must be between 0 and 1");
    if (o.growthInterval < 1) throw std::invalid_argument("grad scaler: growth interval must be at least 1");
    if (!(std::isfinite(o.minScale) && o.minScale > 0))
        throw std::invalid_argument("grad scaler: minimum scale must be finite and positive");
    m_state.scale = std::max(o.initScale, o.minScale);
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) {
    if (m_unscaled) throw std::logic_error("grad scaler: unscale() called twice in one step");
    torch::NoGradGuard noGrad;
    const double inv = 1.0 / m_state.scale;
    // One flag tensor on the gradients' device, read once (one device sync per step).
    torch::Tensor allFinite;
    for (const torch::Tensor& p : params) {
        torch::Tensor g = p.grad();
        if (!g.defined()) continue;
        g.mul_(inv);
        torch::Tensor ok = torch::isfinite(g).all();
        allFinite = allFinite.defined() ? allFinite.logical_and(ok.to(allFinite.device())) : ok;
    }
    const bool finite = !allFinite.defined() || allFinite.item<bool>();
    m_unscaled = true;
    m_foundInf = !finite;
    return finite;
}

bool GradScaler::step(const std::vector<torch::Tensor>& params, const std::function<void()>& optimizerStep) {
    if (!m_unscaled) unscale(params);
    if (m_foundInf) return false;
    optimizerStep();
    return true;
}

void GradScaler::update(bool foundInf) {
    if (foundInf) {
        m_state.scale = std::max(m_options.minScale, m_state.scale * m_options.backoffFactor);
        m_state.goodSteps = 0;
        ++m_skipped;
    } else if (++m_state.goodSteps >= m_options.growthInterval) {
        const double grown = m_state.scale * m_options.growthFactor;
        if (std::isfinite(grown)) m_state.scale = grown;  // PyTorch: growth stops short of inf
        m_state.goodSteps = 0;
    }
    m_unscaled = false;
    m_foundInf = false;
}

void GradScaler::update() { update(m_foundInf); }

void GradScaler::load(const GradScalerState& s) {
    if (!(std::isfinite(s.scale) && s.scale > 0))
        throw std::invalid_argument("grad scaler: saved scale " + std::to_string(s.scale) +
                                    " is not finite and positive");
    if (s.goodSteps < 0) throw std::invalid_argument("grad scaler: saved good-step count is negative");
    m_state = s;
    m_unscaled = false;
    m_foundInf = false;
}

}  // namespace mts

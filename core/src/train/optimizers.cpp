#include "mts/core/train/optimizers.h"

#include <cmath>
#include <stdexcept>

namespace mts {

std::string toString(ParamRole r) {
    switch (r) {
        case ParamRole::Embedding: return "embedding";
        case ParamRole::NoDecay: return "no_decay";
        case ParamRole::Decay: return "decay";
        default: return "hidden";
    }
}

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::string lastComponent(const std::string& name) {
    auto dot = name.rfind('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

ParamRole classifyParameter(const std::string& name, const torch::Tensor& p) {
    const std::string last = lastComponent(name);
    if (contains(name, "embed") || contains(name, "wte") || contains(name, "wpe") || contains(name, "tok_emb") ||
        contains(name, "pos_emb") || contains(name, "position"))
        return ParamRole::Embedding;
    if (p.dim() < 2 || last == "bias" || last == "D" || contains(name, "A_log") || contains(name, "norm") ||
        last == "gate")
        return ParamRole::NoDecay;
    if (contains(name, "conv") || contains(name, "dt_proj") || contains(name, "lm_head") || p.dim() != 2)
        return ParamRole::Decay;
    return ParamRole::Hidden;
}

void Optimizer::zeroGrad() {
    for (auto& np : m_params) {
        auto& g = np.param.mutable_grad();
        if (g.defined()) {
            g.detach_();
            g.zero_();
        }
    }
}

// ---- AdamW ----

AdamW::AdamW(std::vector<NamedParam> params, std::vector<bool> decay, AdamWOptions options)
    : m_decay(std::move(decay)), m_options(options) {
    m_params = std::move(params);
    if (m_decay.size() != m_params.size()) throw std::invalid_argument("AdamW: decay flags do not match params");
    for (auto& np : m_params) {
        auto opts = np.param.options().dtype(torch::kFloat32);
        m_expAvg.push_back(torch::zeros(np.param.sizes(), opts));
        m_expAvgSq.push_back(torch::zeros(np.param.sizes(), opts));
    }
}

void AdamW::step(double lrFactor) {
    torch::NoGradGuard noGrad;
    ++m_stepCount;
    const double lr = m_options.lr * lrFactor;
    const double b1 = m_options.beta1, b2 = m_options.beta2;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(m_stepCount));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(m_stepCount));
    const double stepSize = lr / bc1;
    const double bc2Sqrt = std::sqrt(bc2);
    for (size_t i = 0; i < m_params.size(); ++i) {
        auto& p = m_params[i].param;
        const auto& g0 = p.grad();
        if (!g0.defined()) continue;
        auto g = g0.to(torch::kFloat32);
        if (m_decay[i] && m_options.weightDecay > 0) p.mul_(1.0 - lr * m_options.weightDecay);
        m_expAvg[i].mul_(b1).add_(g, 1.0 - b1);
        m_expAvgSq[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
        auto denom = (m_expAvgSq[i].sqrt() / bc2Sqrt).add_(m_options.eps);
        p.addcdiv_(m_expAvg[i], denom, -stepSize);
    }
}

std::map<std::string, torch::Tensor> AdamW::stateDict() const {
    std::map<std::string, torch::Tensor> s;
    for (size_t i = 0; i < m_params.size(); ++i) {
        s["adamw.exp_avg." + m_params[i].name] = m_expAvg[i];
        s["adamw.exp_avg_sq." + m_params[i].name] = m_expAvgSq[i];
    }
    s["adamw.step"] = torch::tensor({m_stepCount}, torch::kInt64);
    return s;
}

namespace {

void copyState(const std::map<std::string, torch::Tensor>& state, const std::string& key, torch::Tensor& into) {
    auto it = state.find(key);
    if (it == state.end()) throw std::runtime_error("optimizer state: missing entry '" + key + "'");
    if (!it->second.sizes().equals(into.sizes()))
        throw std::runtime_error("optimizer state: entry '" + key + "' has the wrong shape");
    torch::NoGradGuard noGrad;
    into.copy_(it->second.to(into.device(), into.scalar_type()));
}

int64_t readStep(const std::map<std::string, torch::Tensor>& state, const std::string& key) {
    auto it = state.find(key);
    if (it == state.end() || it->second.numel() != 1)
        throw std::runtime_error("optimizer state: missing entry '" + key + "'");
    return it->second.to(torch::kInt64).item<int64_t>();
}

}  // namespace

void AdamW::loadStateDict(const std::map<std::string, torch::Tensor>& state) {
    for (size_t i = 0; i < m_params.size(); ++i) {
        copyState(state, "adamw.exp_avg." + m_params[i].name, m_expAvg[i]);
        copyState(state, "adamw.exp_avg_sq." + m_params[i].name, m_expAvgSq[i]);
    }
    m_stepCount = readStep(state, "adamw.step");
}

// ---- Muon ----

torch::Tensor newtonSchulz(const torch::Tensor& g, int64_t steps, bool quintic) {
    TORCH_CHECK(g.dim() == 2, "newtonSchulz: expected a matrix");
    auto x = g.to(torch::kFloat32);
    const bool tall = x.size(0) > x.size(1);
    if (tall) x = x.t();
    // Normalising by the Frobenius norm puts every singular value in (0, 1], inside the
    // iteration's basin of convergence.
    x = x / (x.norm() + 1e-7);
    for (int64_t i = 0; i < steps; ++i) {
        auto a = torch::mm(x, x.t());
        if (quintic) {
            // Coefficients tuned so the quintic pushes small singular values up fast
            // (slope ~3.4 at 0) at the cost of landing near, not on, 1.
            constexpr double ca = 3.4445, cb = -4.7750, cc = 2.0315;
            auto b = cb * a + cc * torch::mm(a, a);
            x = ca * x + torch::mm(b, x);
        } else {
            x = 1.5 * x - 0.5 * torch::mm(a, x);
        }
    }
    return tall ? x.t() : x;
}

HybridMuon::HybridMuon(std::vector<NamedParam> hidden, std::vector<NamedParam> others, std::vector<bool> othersDecay,
                       MuonOptions muon, AdamWOptions adamw)
    : m_hidden(std::move(hidden)), m_options(muon), m_adamw(std::move(others), std::move(othersDecay), adamw) {
    m_params = m_hidden;
    m_params.insert(m_params.end(), m_adamw.params().begin(), m_adamw.params().end());
    for (auto& np : m_hidden) {
        TORCH_CHECK(np.param.dim() == 2, "Muon: parameter ", np.name, " is not a matrix");
        m_momentum.push_back(torch::zeros(np.param.sizes(), np.param.options().dtype(torch::kFloat32)));
    }
}

torch::Tensor HybridMuon::updateDirection(const torch::Tensor& grad, torch::Tensor& momentum) const {
    auto g = grad.to(torch::kFloat32);
    momentum.mul_(m_options.momentum).add_(g);
    auto u = m_options.nesterov ? g + m_options.momentum * momentum : momentum.clone();
    return newtonSchulz(u, m_options.nsSteps, true);
}

void HybridMuon::step(double lrFactor) {
    torch::NoGradGuard noGrad;
    ++m_stepCount;
    const double lr = m_options.lr * lrFactor;
    for (size_t i = 0; i < m_hidden.size(); ++i) {
        auto& p = m_hidden[i].param;
        if (!p.grad().defined()) continue;
        auto o = updateDirection(p.grad(), m_momentum[i]);
        // An orthogonal (m, n) matrix has RMS 1/sqrt(max(m, n)); scaling by 0.2 sqrt(max(m, n))
        // gives the update AdamW's typical RMS (~0.2), so Muon takes AdamW-like learning rates.
        const double scale = 0.2 * std::sqrt(static_cast<double>(std::max(p.size(0), p.size(1))));
        if (m_options.weightDecay > 0) p.mul_(1.0 - lr * m_options.weightDecay);
        p.add_(o.to(p.scalar_type()), -lr * scale);
    }
    m_adamw.step(lrFactor);
}

std::map<std::string, torch::Tensor> HybridMuon::stateDict() const {
    auto s = m_adamw.stateDict();
    for (size_t i = 0; i < m_hidden.size(); ++i) s["muon.momentum." + m_hidden[i].name] = m_momentum[i];
    s["muon.step"] = torch::tensor({m_stepCount}, torch::kInt64);
    return s;
}

void HybridMuon::loadStateDict(const std::map<std::string, torch::Tensor>& state) {
    m_adamw.loadStateDict(state);
    for (size_t i = 0; i < m_hidden.size(); ++i) copyState(state, "muon.momentum." + m_hidden[i].name, m_momentum[i]);
    m_stepCount = readStep(state, "muon.step");
}

// ---- grad helpers ----

double gradNorm(const std::vector<NamedParam>& params) {
    torch::NoGradGuard noGrad;
    torch::Tensor total;
    for (auto& np : params) {
        const auto& g = np.param.grad();
        if (!g.defined()) continue;
        auto sq = g.to(torch::kFloat32).pow(2).sum();
        total = total.defined() ? total + sq : sq;
    }
    if (!total.defined()) return 0.0;
    return std::sqrt(total.item<double>());
}

void scaleGrads(const std::vector<NamedParam>& params, double scale) {
    torch::NoGradGuard noGrad;
    for (auto& np : params) {
        auto& g = np.param.mutable_grad();
        if (g.defined()) g.mul_(scale);
    }
}

}  // namespace mts

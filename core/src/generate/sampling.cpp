// Sampling filters and the per-sequence Sampler (see generation.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "mts/core/generate/generation.h"
#include "mts/core/runtime/errors.h"

namespace mts {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void checkLogits(const torch::Tensor& logits, const char* who) {
    if (logits.dim() != 1 || logits.device().type() != torch::kCPU || logits.scalar_type() != torch::kFloat) {
        throw ConfigError(fmt::format("{}: expects 1-D float CPU logits", who));
    }
}

// Descending order with ties kept in id order, so filters are reproducible across runs.
torch::Tensor sortedDescending(const torch::Tensor& values) {
    return std::get<1>(torch::sort(values, /*stable=*/true, /*dim=*/0, /*descending=*/true));
}

}  // namespace

void SamplingOptions::validate() const {
    if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
        throw ConfigError(fmt::format("temperature must be >= 0 (got {})", temperature));
    }
    if (topK < 0) throw ConfigError(fmt::format("top_k must be >= 0 (got {})", topK));
    if (!(topP > 0.0 && topP <= 1.0)) throw ConfigError(fmt::format("top_p must be in (0, 1] (got {})", topP));
    if (!(minP >= 0.0 && minP <= 1.0)) throw ConfigError(fmt::format("min_p must be in [0, 1] (got {})", minP));
    if (!(repetitionPenalty > 0.0) || !std::isfinite(repetitionPenalty)) {
        throw ConfigError(fmt::format("repetition_penalty must be > 0 (got {})", repetitionPenalty));
    }
    if (repetitionWindow < 0) {
        throw ConfigError(fmt::format("repetition_window must be >= 0 (got {})", repetitionWindow));
    }
    if (maxNewTokens < 0) throw ConfigError(fmt::format("max_new_tokens must be >= 0 (got {})", maxNewTokens));
    for (const auto& s : stopStrings) {
        if (s.empty()) throw ConfigError("stop strings must not be empty");
    }
}

torch::Tensor applyRepetitionPenalty(const torch::Tensor& logits, const std::vector<int32_t>& history,
                                     double penalty) {
    checkLogits(logits, "applyRepetitionPenalty");
    torch::Tensor out = logits.clone();
    if (penalty == 1.0 || history.empty()) return out;
    const int64_t v = out.size(0);
    float* data = out.data_ptr<float>();
    std::unordered_set<int32_t> seen;
    for (int32_t id : history) {
        // Each id is penalised once however often it occurred (the CTRL rule).
        if (id < 0 || id >= v || !seen.insert(id).second) continue;
        float& x = data[id];
        x = x > 0.0f ? static_cast<float>(x / penalty) : static_cast<float>(x * penalty);
    }
    return out;
}

torch::Tensor applyTopK(const torch::Tensor& logits, int64_t k) {
    checkLogits(logits, "applyTopK");
    const int64_t v = logits.size(0);
    if (k <= 0 || k >= v) return logits.clone();
    torch::Tensor order = sortedDescending(logits);
    torch::Tensor out = torch::full_like(logits, kNegInf);
    torch::Tensor keep = order.narrow(0, 0, k);
    out.index_copy_(0, keep, logits.index_select(0, keep));
    return out;
}

torch::Tensor applyTopP(const torch::Tensor& logits, double p) {
    checkLogits(logits, "applyTopP");
    if (p >= 1.0) return logits.clone();
    torch::Tensor probs = torch::softmax(logits.to(torch::kDouble), 0);
    torch::Tensor order = sortedDescending(probs);
    torch::Tensor sorted = probs.index_select(0, order);
    // Keep an id when the mass of the ids before it is still short of p: the first id always
    // stays, and the set ends with the id that makes the mass reach p.
    torch::Tensor before = torch::cumsum(sorted, 0) - sorted;
    const int64_t count = std::max<int64_t>(1, (before < p).sum().item<int64_t>());
    torch::Tensor keep = order.narrow(0, 0, count);
    torch::Tensor out = torch::full_like(logits, kNegInf);
    out.index_copy_(0, keep, logits.index_select(0, keep));
    return out;
}

torch::Tensor applyMinP(const torch::Tensor& logits, double minP) {
    checkLogits(logits, "applyMinP");
    if (minP <= 0.0) return logits.clone();
    // p_i >= minP * p_max  <=>  logit_i >= logit_max + log(minP): no softmax needed.
    const double threshold = logits.max().item<double>() + std::log(minP);
    return torch::where(logits.to(torch::kDouble) >= threshold, logits, torch::full_like(logits, kNegInf));
}

Sampler::Sampler(const SamplingOptions& options, int64_t vocabLimit)
    : m_options(options), m_vocabLimit(vocabLimit), m_rng(options.seed) {
    m_options.validate();
    if (vocabLimit <= 0) throw ConfigError(fmt::format("sampler: vocabulary size must be > 0 (got {})", vocabLimit));
}

torch::Tensor Sampler::filtered(const torch::Tensor& logits, const std::vector<int32_t>& history) const {
    torch::Tensor flat = logits.detach().reshape({-1});
    if (flat.size(0) < m_vocabLimit) {
        throw ConfigError(fmt::format("sampler: model gives {} logits for a vocabulary of {}", flat.size(0),
                                      m_vocabLimit));
    }
    // The padded rows beyond the model's vocabulary are cut off here, before any filter,
    // so they can never be sampled.
    torch::Tensor x = flat.narrow(0, 0, m_vocabLimit).to(torch::kCPU, torch::kFloat).contiguous();
    if (m_options.repetitionPenalty != 1.0) {
        std::vector<int32_t> window = history;
        if (m_options.repetitionWindow > 0 && static_cast<int64_t>(window.size()) > m_options.repetitionWindow) {
            window.erase(window.begin(), window.end() - m_options.repetitionWindow);
        }
        x = applyRepetitionPenalty(x, window, m_options.repetitionPenalty);
    }
    if (m_options.temperature == 0.0) return x;
    x = x / m_options.temperature;
    if (m_options.topK > 0) x = applyTopK(x, m_options.topK);
    if (m_options.topP < 1.0) x = applyTopP(x, m_options.topP);
    if (m_options.minP > 0.0) x = applyMinP(x, m_options.minP);
    return x;
}

torch::Tensor Sampler::probabilities(const torch::Tensor& logits, const std::vector<int32_t>& history) const {
    torch::Tensor x = filtered(logits, history);
    if (m_options.temperature == 0.0) {
        torch::Tensor one = torch::zeros_like(x);
        one[x.argmax().item<int64_t>()] = 1.0f;
        return one;
    }
    return torch::softmax(x.to(torch::kDouble), 0).to(torch::kFloat);
}

int32_t Sampler::sample(const torch::Tensor& logits, const std::vector<int32_t>& history) {
    torch::Tensor x = filtered(logits, history);
    // argmax returns the first maximum: greedy ties go to the lower id.
    if (m_options.temperature == 0.0) return static_cast<int32_t>(x.argmax().item<int64_t>());
    torch::Tensor probs = torch::softmax(x.to(torch::kDouble), 0).contiguous();
    const double* p = probs.data_ptr<double>();
    const int64_t v = probs.size(0);
    // Drawing by inverse CDF with our own engine keeps a seed's output identical on every
    // device and independent of torch's global RNG.
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(m_rng);
    double acc = 0.0;
    int64_t last = -1;
    for (int64_t i = 0; i < v; ++i) {
        if (!(p[i] > 0.0)) continue;
        acc += p[i];
        last = i;
        if (u < acc) return static_cast<int32_t>(i);
    }
    if (last < 0) {
        // Every logit was -inf or NaN (a diverged model): fall back to the raw argmax.
        return static_cast<int32_t>(x.nan_to_num(kNegInf).argmax().item<int64_t>());
    }
    return static_cast<int32_t>(last);  // rounding left u just above the total mass
}

}  // namespace mts

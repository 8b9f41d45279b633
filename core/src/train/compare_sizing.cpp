// Comparison suites: budgets, the architecture list, sizing models to a parameter count.
#include <cmath>
#include <cstdlib>
#include <numeric>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"
#include "mts/core/train/compare_suite.h"
#include "mts/core/train/memory_estimate.h"

namespace mts {

CompareBudget CompareBudget::parse(const std::string& text) {
    const auto bad = [&] {
        return ConfigError("budget: '" + text +
                           "' is not a budget (expected minutes like 10m, tokens like 50000tokens, or training "
                           "FLOPs like 1e12flops)");
    };
    const char* begin = text.c_str();
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(v)) throw bad();
    const std::string unit = end;
    CompareBudget b;
    if (unit == "m" || unit == "min") {
        b.kind = Kind::Minutes;
    } else if (unit == "tokens" || unit == "t") {
        b.kind = Kind::Tokens;
    } else if (unit == "flops" || unit == "f") {
        b.kind = Kind::Flops;
    } else {
        throw bad();
    }
    if (!(v > 0)) throw ConfigError("budget: '" + text + "' must be > 0");
    b.value = v;
    return b;
}

std::string CompareBudget::toString() const {
    switch (kind) {
        case Kind::Minutes: return fmt::format("{}m", value);
        case Kind::Tokens: return fmt::format("{}tokens", value);
        case Kind::Flops: return fmt::format("{}flops", value);
    }
    return "?";
}

std::vector<std::string> knownArchitectureIds() {
    // The enum is dense from 0; toString names every value the core knows (its one list).
    std::vector<std::string> ids;
    for (int i = 0;; ++i) {
        const std::string id = toString(static_cast<Architecture>(i));
        if (id == "unknown") break;
        ids.push_back(id);
    }
    return ids;
}

namespace {

bool attention(Architecture a) {
    return a == Architecture::Transformer || a == Architecture::Attention1 || a == Architecture::Moe;
}

int64_t widthStep(const ModelConfig& c) {
    if (c.arch == Architecture::Mamba2) {
        // expand x d_model must split into heads of head_dim, in a multiple of n_groups heads.
        const int64_t unit = std::max<int64_t>(1, c.headDim) * std::max<int64_t>(1, c.nGroups);
        const int64_t step = unit / std::gcd(std::max<int64_t>(1, c.expand), unit);
        return step * ((8 + step - 1) / step);  // a multiple of the unit, at least 8
    }
    if (!attention(c.arch)) return 8;
    const int64_t heads = std::max<int64_t>(1, c.nHead);
    return c.positions == "rope" ? 2 * heads : heads * (heads >= 8 ? 1 : 8 / heads);
}

// Distance in log space, so 2x too large and 2x too small are equally far.
double distance(int64_t params, int64_t target) {
    return std::fabs(std::log(static_cast<double>(params) / static_cast<double>(target)));
}

}  // namespace

ModelConfig sizeModelForParameters(const ModelConfig& shape, int64_t targetParams) {
    if (targetParams <= 0)
        throw ConfigError(fmt::format("params: the target parameter count must be > 0, got {}", targetParams));
    ModelConfig best = shape;
    const int64_t step = widthStep(shape);
    bool found = false;
    for (ModelConfig c = shape;;) {
        int64_t prevParams = -1;
        ModelConfig prev = c;
        for (int64_t d = step; d <= 16384; d += step) {
            c.dModel = d;
            const int64_t p = countParameters(c);
            if (p >= targetParams) {
                const bool takePrev = prevParams > 0 && distance(prevParams, targetParams) < distance(p, targetParams);
                const ModelConfig& pick = takePrev ? prev : c;
                if (!found || distance(countParameters(pick), targetParams) < distance(countParameters(best), targetParams))
                    best = pick;
                found = true;
                break;
            }
            prev = c;
            prevParams = p;
        }
        if (prevParams > 0 && !found) {  // the widest still under target
            best = prev;
            found = true;
        }
        // The narrowest width overshoots: fewer layers (layered architectures only).
        const bool layered = c.arch != Architecture::Attention1 && c.arch != Architecture::Linear;
        if (prevParams > 0 || !layered || c.nLayer <= 1) break;
        c.nLayer -= 1;
    }
    return best;
}

}  // namespace mts

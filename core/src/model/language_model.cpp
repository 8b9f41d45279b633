#include "mts/core/model/language_model.h"

#include <stdexcept>
#include <string>
#include <unordered_set>

#include "model/check_ids.h"


namespace mts {

int64_t LanguageModelImpl::numParameters() const {
    // Tied weights are one tensor registered once, but dedupe by storage anyway so a future
    // module that registers a shared tensor twice is still counted once.
    std::unordered_set<const void*> seen;
    int64_t total = 0;
    for (const auto& p : parameters()) {
        if (!p.requires_grad()) continue;
        if (!seen.insert(p.unsafeGetTensorImpl()).second) continue;
        total += p.numel();
    }
    return total;
}

int64_t LanguageModelImpl::numNonEmbeddingParameters() const {
    int64_t total = 0;
    for (const auto& item : named_parameters()) {
        if (item.key().find("embed") != std::string::npos) continue;
        if (item.value().requires_grad()) total += item.value().numel();
    }
    return total;
}

namespace detail {

void checkIds(const torch::Tensor& ids, int64_t dims, const char* what) {
    if (!ids.defined() || ids.dim() != dims)
        throw std::invalid_argument(std::string(what) + ": ids must have " + std::to_string(dims) + " dimension(s)");
    if (ids.scalar_type() != torch::kInt64) throw std::invalid_argument(std::string(what) + ": ids must be int64");
}

}  // namespace detail

}  // namespace mts

#include "mts/core/language_model.h"

#include <unordered_set>

#include "mts/core/baselines.h"
#include "mts/core/errors.h"
#include "mts/core/mamba.h"
#include "mts/core/transformer.h"

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

LanguageModel createModel(const ModelConfig& config) {
    config.validate();
    switch (config.arch) {
        case Architecture::Mamba: return std::make_shared<MambaLMImpl>(config);
        case Architecture::Transformer:
        case Architecture::Attention1: return std::make_shared<TransformerLMImpl>(config);
        case Architecture::Linear: return std::make_shared<LinearLMImpl>(config);
    }
    throw ConfigError("arch: unsupported architecture");
}

}  // namespace mts

#include "mts/core/model/model_factory.h"

#include "model/baselines.h"
#include "model/moe_transformer.h"
#include "model/transformer.h"
#include "mts/core/model/mamba.h"
#include "mts/core/model/mamba2.h"
#include "mts/core/runtime/errors.h"

namespace mts {

LanguageModel createModel(const ModelConfig& config) {
    config.validate();
    switch (config.arch) {
        case Architecture::Mamba: return std::make_shared<MambaLMImpl>(config);
        case Architecture::Transformer:
        case Architecture::Attention1: return std::make_shared<TransformerLMImpl>(config);
        case Architecture::Linear: return std::make_shared<LinearLMImpl>(config);
        case Architecture::Moe: return std::make_shared<MoeLMImpl>(config);
        case Architecture::Mamba2: return std::make_shared<Mamba2LMImpl>(config);
    }
    throw ConfigError("arch: unsupported architecture");
}

}  // namespace mts

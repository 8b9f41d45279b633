#include "mts/core/model/architectures.h"

#include "mts/core/runtime/errors.h"

namespace mts {

const std::vector<ArchitectureInfo>& architectureList() {
    static const std::vector<ArchitectureInfo> list = {
        {Architecture::Mamba, "mamba", "Mamba",
         "Selective state-space model: linear in sequence length, constant memory per generated token", ""},
        {Architecture::Mamba2, "mamba2", "Mamba-2",
         "State-space dual (SSD): one decay per head, trained as chunked matrix products; constant memory per "
         "generated token",
         ""},
        {Architecture::Transformer, "transformer", "Transformer",
         "GPT-style decoder of comparable size: the baseline to compare Mamba against", ""},
        {Architecture::Attention1, "attention1", "Self-attention (1 layer)",
         "Seed baseline: one causal self-attention layer (no MLP) over token and position embeddings",
         "transformer"},
        {Architecture::Linear, "linear", "Linear (fixed context)",
         "Seed baseline: next-token logits as one linear map of the last `context` token embeddings", ""},
        {Architecture::Moe, "moe", "Sparse MoE Transformer",
         "Transformer whose MLPs are 8 experts, each token routed to its top 2", ""},
    };
    return list;
}

const ArchitectureInfo& architectureInfo(Architecture a) {
    for (const ArchitectureInfo& info : architectureList())
        if (info.arch == a) return info;
    throw ConfigError("arch: architecture " + std::to_string(static_cast<int>(a)) + " is not in architectureList()");
}

std::vector<std::string> architectureIds() {
    std::vector<std::string> ids;
    for (const ArchitectureInfo& info : architectureList()) ids.push_back(info.id);
    return ids;
}

}  // namespace mts

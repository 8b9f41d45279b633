// InferenceModel: packed weights + per-layer fused decode blocks (see inference_model.h).
#include "mts/core/generate/inference_model.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "generate/decode_pack.h"
#include "generate/mamba2_decode_block.h"
#include "generate/mamba_decode_block.h"
#include "mts/core/model/mamba.h"
#include "mts/core/model/mamba2.h"
#include "mts/core/runtime/errors.h"

namespace mts {
int64_t InferenceState::bytes() const {
    int64_t total = 0;
    for (const auto& b : blocks) total += b->bytes();
    return total;
}

bool InferenceModel::supports(const LanguageModelImpl& model) {
    const Architecture arch = model.config().arch;
    const bool known = (arch == Architecture::Mamba && dynamic_cast<const MambaLMImpl*>(&model)) ||
                       (arch == Architecture::Mamba2 && dynamic_cast<const Mamba2LMImpl*>(&model));
    if (!known) return false;
    for (const auto& p : model.parameters()) {
        if (!p.device().is_cpu()) return false;
    }
    return true;
}

InferenceModel::InferenceModel(LanguageModelImpl& model, decode::WeightType weights)
    : m_model(model), m_weights(weights) {
    if (!supports(model)) {
        throw ConfigError(fmt::format(
            "inference weights: only Mamba and Mamba-2 models on the CPU can be repacked (this is {})",
            toString(model.config().arch)));
    }
    torch::NoGradGuard noGrad;
    const ModelConfig& cfg = model.config();
    // The shell (embedding, final norm, head) is the same for both; the blocks are the arch's.
    auto packShell = [&](auto& lm) {
        m_embedding = detail::packWeight(lm.backbone->embeddings->weight, weights);
        m_tied = lm.lm_head.is_empty();
        if (!m_tied) m_head = detail::packWeight(lm.lm_head->weight, weights);
        const torch::Tensor nf = lm.backbone->norm_f->weight.detach().to(torch::kFloat32).contiguous();
        m_normF.assign(nf.data_ptr<float>(), nf.data_ptr<float>() + nf.numel());
    };
    if (auto* mamba = dynamic_cast<MambaLMImpl*>(&model)) {
        packShell(*mamba);
        for (auto& block : mamba->backbone->blocks) m_blocks.push_back(makeMambaDecodeBlock(*block, cfg, weights));
    } else {
        auto& mamba2 = dynamic_cast<Mamba2LMImpl&>(model);
        packShell(mamba2);
        for (auto& block : mamba2.backbone->blocks) m_blocks.push_back(makeMamba2DecodeBlock(*block, cfg, weights));
    }
}

int64_t InferenceModel::weightBytesPerToken() const {
    int64_t total = 0;
    for (const auto& b : m_blocks) total += b->weightBytes();
    total += (m_tied ? m_embedding.bytes() : m_head.bytes()) + m_embedding.rowBytes();
    return total + static_cast<int64_t>(m_normF.size() * sizeof(float));
}

std::unique_ptr<InferenceState> InferenceModel::newState() const {
    auto s = std::make_unique<InferenceState>();
    for (const auto& b : m_blocks) s->blocks.push_back(b->newState());
    s->residual.resize(static_cast<size_t>(config().dModel));
    s->normed.resize(static_cast<size_t>(config().dModel));
    s->logits.resize(static_cast<size_t>(config().paddedVocab()));
    return s;
}

const std::vector<float>& InferenceModel::prefill(const std::vector<int32_t>& ids, InferenceState& state,
                                                  int64_t chunk) const {
    if (ids.empty()) throw ConfigError("prefill: empty prompt");
    if (chunk < 1) throw ConfigError("prefill: chunk must be >= 1");
    const int64_t vocab = config().paddedVocab();
    for (int32_t id : ids) {
        if (id < 0 || id >= vocab) throw ConfigError(fmt::format("prefill: id {} is outside 0..{}", id, vocab - 1));
    }
    torch::NoGradGuard noGrad;
    std::unique_ptr<DecodeState> trained = m_model.newState(1);
    // Continue from this state's recurrent state when it has consumed tokens already.
    if (state.position > 0) {
        throw ConfigError("prefill: the inference state has already consumed tokens; use step() to continue");
    }
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    const auto n = static_cast<int64_t>(ids64.size());
    const torch::Tensor all = torch::tensor(ids64, torch::kLong).view({1, n});
    torch::Tensor logits;
    for (int64_t start = 0; start < n; start += chunk) {
        logits = m_model.prefill(all.narrow(1, start, std::min(chunk, n - start)), *trained);
    }
    for (size_t i = 0; i < m_blocks.size(); ++i)
        m_blocks[i]->loadState(*trained, static_cast<int64_t>(i), *state.blocks[i]);
    const torch::Tensor l = logits.to(torch::kFloat32).contiguous().view({-1});
    std::copy(l.data_ptr<float>(), l.data_ptr<float>() + l.numel(), state.logits.begin());
    state.position = n;
    return state.logits;
}

const std::vector<float>& InferenceModel::step(int32_t id, InferenceState& state) const {
    const ModelConfig& cfg = config();
    if (id < 0 || id >= cfg.paddedVocab())
        throw ConfigError(fmt::format("step: id {} is outside 0..{}", id, cfg.paddedVocab() - 1));
    decode::unpackRow(m_embedding, id, state.residual.data());
    for (size_t i = 0; i < m_blocks.size(); ++i) m_blocks[i]->step(state.residual.data(), *state.blocks[i]);
    decode::rmsNorm(state.residual.data(), m_normF.data(), static_cast<float>(cfg.normEps), state.normed.data(),
                    cfg.dModel);
    decode::matvec(m_tied ? m_embedding : m_head, state.normed.data(), state.logits.data());
    state.position += 1;
    return state.logits;
}

}  // namespace mts

// Sparse MoE Transformer: top-k routed expert MLPs, load-balancing loss, KV-cache decoding.
#include "model/moe_transformer.h"

#include "model/check_ids.h"

#include <stdexcept>

#include "mts/core/runtime/errors.h"

namespace mts {

using detail::checkIds;
namespace {

KvCacheState& asKvState(DecodeState& state, int64_t batch, size_t layers) {
    auto* s = dynamic_cast<KvCacheState*>(&state);
    if (!s) throw std::invalid_argument("MoE: decode state was not created by a MoE model");
    if (s->layers.size() != layers || s->batch != batch)
        throw std::invalid_argument("MoE: decode state does not match the model or batch size");
    return *s;
}

constexpr int64_t kRowBucket = 64;

// Parameters of one expert MLP (c_fc and c_proj with biases).
int64_t expertParameters(const ModelConfig& c) {
    const int64_t d = c.dModel, m = c.mlpRatio * c.dModel;
    return (d * m + m) + (m * d + d);
}

}  // namespace

MoeMlpImpl::MoeMlpImpl(const ModelConfig& config) : m_topK(config.expertsPerToken) {
    router = register_module("router", torch::nn::Linear(torch::nn::LinearOptions(config.dModel, config.nExperts)
                                                             .bias(false)));
    {
        torch::NoGradGuard noGrad;
        router->weight.normal_(0.0, config.initStd);
    }
    experts = register_module("experts", torch::nn::ModuleList());
    for (int64_t e = 0; e < config.nExperts; ++e) {
        TransformerMlp mlp(config);
        experts->push_back(mlp);
        expertList.push_back(mlp);
    }
}

MoeRouting MoeMlpImpl::route(const torch::Tensor& x) {
    MoeRouting r;
    // Softmax in at least fp32 (bf16 logits under autocast would make near-ties random).
    const torch::Tensor logits = router(x);
    r.probs = torch::softmax(logits.scalar_type() == torch::kDouble ? logits : logits.to(torch::kFloat32), -1);
    auto [top, index] = r.probs.topk(m_topK, -1);                  // (N, k), sorted
    r.experts = index;
    r.gates = top / top.sum(-1, /*keepdim=*/true);
    return r;
}

torch::Tensor MoeMlpImpl::balanceLoss(const MoeRouting& routing, int64_t nExperts) {
    const int64_t assignments = routing.experts.numel();
    const torch::Tensor counts =
        torch::bincount(routing.experts.reshape({-1}), /*weights=*/{}, nExperts).to(routing.probs.scalar_type());
    const torch::Tensor f = counts / static_cast<double>(std::max<int64_t>(1, assignments));
    const torch::Tensor p = routing.probs.mean(0);  // (E)
    return static_cast<double>(nExperts) * (f * p).sum();
}

torch::Tensor MoeMlpImpl::forward(const torch::Tensor& x) {
    const int64_t d = x.size(-1);
    const torch::Tensor flat = x.reshape({-1, d});  // (N, D)
    const MoeRouting r = route(flat);
    const int64_t nExperts = static_cast<int64_t>(expertList.size());
    m_lastBalanceLoss = balanceLoss(r, nExperts);
    torch::Tensor out;
    for (int64_t e = 0; e < nExperts; ++e) {
        const torch::Tensor hit = (r.experts == e).nonzero();  // (M, 2): token, slot
        if (hit.size(0) == 0) continue;
        torch::Tensor token = hit.select(1, 0);
        torch::Tensor gate = r.gates.index({token, hit.select(1, 1)}).unsqueeze(-1);  // (M, 1)
        // Rows padded to a multiple of kRowBucket (token 0, gate 0: adds exact zeros): the
        // allocator then sees a few sizes step after step instead of a new one per expert per
        // step, which fragmented glibc's heap (RSS grew ~13 MB per step on the tiny preset).
        const int64_t rows = token.size(0), padded = (rows + kRowBucket - 1) / kRowBucket * kRowBucket;
        if (padded > rows) {
            token = torch::cat({token, torch::zeros({padded - rows}, token.options())});
            gate = torch::cat({gate, torch::zeros({padded - rows, 1}, gate.options())});
        }
        const torch::Tensor y = expertList[e]->forward(flat.index_select(0, token));  // (M', D)
        const torch::Tensor gated = y * gate.to(y.scalar_type());
        if (!out.defined()) out = torch::zeros({flat.size(0), d}, gated.options());
        out = out.index_add(0, token, gated.to(out.scalar_type()));
    }
    if (!out.defined()) out = torch::zeros_like(flat);  // no tokens
    return out.view(x.sizes());
}

MoeBlockImpl::MoeBlockImpl(const ModelConfig& config) {
    const auto lnOpts = torch::nn::LayerNormOptions({config.dModel}).eps(config.normEps);
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(lnOpts));
    attn = register_module("attn", CausalSelfAttention(config));
    ln_2 = register_module("ln_2", torch::nn::LayerNorm(lnOpts));
    moe = register_module("moe", MoeMlp(config));
}

torch::Tensor MoeBlockImpl::forward(const torch::Tensor& x, int64_t pos0, KvLayerCache* cache) {
    torch::Tensor h = x + attn->forward(ln_1(x), pos0, cache);
    return h + moe(ln_2(h));
}

MoeBodyImpl::MoeBodyImpl(const ModelConfig& config) {
    const int64_t v = config.paddedVocab(), d = config.dModel;
    wte = register_module("wte", torch::nn::Embedding(v, d));
    if (config.positions == "learned") wpe = register_module("wpe", torch::nn::Embedding(config.maxSeqLen, d));
    drop = register_module("drop", torch::nn::Dropout(config.dropout));
    h = register_module("h", torch::nn::ModuleList());
    for (int64_t i = 0; i < config.nLayer; ++i) {
        MoeBlock block(config);
        h->push_back(block);
        blocks.push_back(block);
    }
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(config.normEps)));
    torch::NoGradGuard noGrad;
    wte->weight.normal_(0.0, config.initStd);
    if (!wpe.is_empty()) wpe->weight.normal_(0.0, config.initStd);
}

MoeLMImpl::MoeLMImpl(ModelConfig config) : LanguageModelImpl(std::move(config)) {
    m_config.validate();
    if (m_config.arch != Architecture::Moe) throw ConfigError("arch: MoeLM needs arch = moe");
    transformer = register_module("transformer", MoeBody(m_config));
    if (!m_config.tieEmbeddings) {
        lm_head = register_module("lm_head", torch::nn::Linear(
                                                 torch::nn::LinearOptions(m_config.dModel, m_config.paddedVocab()).bias(false)));
        torch::NoGradGuard noGrad;
        lm_head->weight.normal_(0.0, m_config.initStd);
    }
}

torch::Tensor MoeLMImpl::embed(const torch::Tensor& ids, int64_t pos0) {
    const int64_t len = ids.size(1);
    torch::Tensor h = transformer->wte(ids);
    if (!transformer->wpe.is_empty()) {
        if (pos0 + len > m_config.maxSeqLen)
            throw std::invalid_argument("MoE: context of " + std::to_string(pos0 + len) +
                                        " tokens exceeds max_seq_len = " + std::to_string(m_config.maxSeqLen));
        h = h + transformer->wpe(torch::arange(pos0, pos0 + len, ids.options()));
    }
    return transformer->drop(h);
}

torch::Tensor MoeLMImpl::head(const torch::Tensor& h) {
    const torch::Tensor normed = transformer->ln_f(h);
    return torch::linear(normed, lm_head.is_empty() ? transformer->wte->weight : lm_head->weight);
}

torch::Tensor MoeLMImpl::forward(const torch::Tensor& ids) {
    checkIds(ids, 2, "MoE forward");
    torch::Tensor h = embed(ids, 0);
    for (auto& block : transformer->blocks) h = block->forward(h);
    return head(h);
}

std::unique_ptr<DecodeState> MoeLMImpl::newState(int64_t batch) {
    auto state = std::make_unique<KvCacheState>();
    state->layers.resize(transformer->blocks.size());
    state->batch = batch;
    return state;
}

torch::Tensor MoeLMImpl::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 2, "MoE prefill");
    if (ids.size(1) == 0) throw std::invalid_argument("MoE prefill: empty prompt");
    KvCacheState& state = asKvState(stateBase, ids.size(0), transformer->blocks.size());
    const int64_t pos0 = state.tokens;
    torch::Tensor h = embed(ids, pos0);
    for (size_t i = 0; i < transformer->blocks.size(); ++i)
        h = transformer->blocks[i]->forward(h, pos0, &state.layers[i]);
    state.tokens += ids.size(1);
    return head(h.select(1, h.size(1) - 1));
}

torch::Tensor MoeLMImpl::step(const torch::Tensor& ids, DecodeState& state) {
    checkIds(ids, 1, "MoE step");
    return prefill(ids.unsqueeze(1), state);
}

int64_t MoeLMImpl::numNonEmbeddingParameters() const {
    int64_t total = numParameters() - transformer->wte->weight.numel();
    if (!transformer->wpe.is_empty()) total -= transformer->wpe->weight.numel();
    return total;
}

int64_t MoeLMImpl::numActiveNonEmbeddingParameters() const {
    const int64_t idle = m_config.nExperts - m_config.expertsPerToken;
    return numNonEmbeddingParameters() - m_config.nLayer * idle * expertParameters(m_config);
}

torch::Tensor MoeLMImpl::auxiliaryLoss() const {
    torch::Tensor sum;
    for (const auto& block : transformer->blocks) {
        const torch::Tensor& l = block->moe->lastBalanceLoss();
        if (!l.defined()) return {};
        sum = sum.defined() ? sum + l : l;
    }
    if (!sum.defined()) return {};
    return sum * (m_config.auxLossWeight / static_cast<double>(transformer->blocks.size()));
}

}  // namespace mts

// GPT-style Transformer baseline and the Attention1 model, with KV-cache decoding.
#include "model/transformer.h"

#include "model/check_ids.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "model/grad_checkpoint.h"
#include "mts/core/runtime/errors.h"

namespace mts {

using detail::checkIds;
namespace {

void initLinear(torch::nn::Linear& l, double std) {
    torch::NoGradGuard noGrad;
    l->weight.normal_(0.0, std);
    if (l->bias.defined()) l->bias.zero_();
}

int64_t blockCount(const ModelConfig& c) { return c.arch == Architecture::Attention1 ? 1 : c.nLayer; }

}  // namespace

int64_t KvCacheState::bytes() const {
    int64_t total = 0;
    for (const auto& l : layers) {
        if (l.k.defined()) total += l.k.numel() * static_cast<int64_t>(l.k.element_size());
        if (l.v.defined()) total += l.v.numel() * static_cast<int64_t>(l.v.element_size());
    }
    return total;
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const ModelConfig& config) : m_config(config) {
    const int64_t d = config.dModel;
    c_attn = register_module("c_attn", torch::nn::Linear(d, 3 * d));
    c_proj = register_module("c_proj", torch::nn::Linear(d, d));
    attn_dropout = register_module("attn_dropout", torch::nn::Dropout(config.dropout));
    resid_dropout = register_module("resid_dropout", torch::nn::Dropout(config.dropout));
    initLinear(c_attn, config.initStd);
    // GPT-2: residual projections scaled by 1/sqrt(2 * n_layer).
    initLinear(c_proj, config.initStd / std::sqrt(2.0 * static_cast<double>(blockCount(config))));
}

torch::Tensor CausalSelfAttentionImpl::rope(const torch::Tensor& t, int64_t pos0) const {
    const int64_t len = t.size(2), hd = t.size(3);
    const auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(t.device());
    const torch::Tensor invFreq =
        torch::pow(m_config.ropeTheta, -torch::arange(0, hd, 2, fopts) / static_cast<double>(hd));  // (hd/2)
    const torch::Tensor pos = torch::arange(pos0, pos0 + len, fopts);                                   // (L)
    const torch::Tensor freqs = torch::outer(pos, invFreq);                                              // (L, hd/2)
    const torch::Tensor emb = torch::cat({freqs, freqs}, -1);                                            // (L, hd)
    const torch::Tensor cos = emb.cos().to(t.scalar_type()), sin = emb.sin().to(t.scalar_type());
    const torch::Tensor x1 = t.narrow(-1, 0, hd / 2), x2 = t.narrow(-1, hd / 2, hd / 2);
    const torch::Tensor rotated = torch::cat({-x2, x1}, -1);
    return t * cos + rotated * sin;
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, int64_t pos0, KvLayerCache* cache) {
    const int64_t batch = x.size(0), len = x.size(1), d = x.size(2);
    const int64_t nHead = m_config.nHead, hd = d / nHead;
    const torch::Tensor qkv = c_attn(x);  // (B, L, 3D)
    auto heads = [&](int64_t i) { return qkv.narrow(-1, i * d, d).view({batch, len, nHead, hd}).transpose(1, 2); };
    torch::Tensor q = heads(0), k = heads(1), v = heads(2);  // (B, H, L, hd)
    if (m_config.positions == "rope") {
        q = rope(q, pos0);
        k = rope(k, pos0);
    }
    if (cache) {
        if (cache->k.defined()) {
            k = torch::cat({cache->k.to(k.scalar_type()), k}, 2);
            v = torch::cat({cache->v.to(v.scalar_type()), v}, 2);
        }
        cache->k = k.detach();
        cache->v = v.detach();
    }
    const int64_t total = k.size(2);  // T = cached + L
    // Query i sits at absolute position total - len + i and may see keys j <= that position.
    const torch::Tensor mask = torch::ones({len, total}, torch::TensorOptions().dtype(torch::kBool).device(x.device()))
                                   .triu(total - len + 1);
    torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat32) / std::sqrt(static_cast<double>(hd));
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    torch::Tensor att = attn_dropout(torch::softmax(scores, -1).to(v.scalar_type()));  // (B, H, L, T)
    torch::Tensor y = torch::matmul(att, v).transpose(1, 2).reshape({batch, len, d});
    return resid_dropout(c_proj(y));
}

TransformerMlpImpl::TransformerMlpImpl(const ModelConfig& config) {
    const int64_t d = config.dModel;
    c_fc = register_module("c_fc", torch::nn::Linear(d, config.mlpRatio * d));
    c_proj = register_module("c_proj", torch::nn::Linear(config.mlpRatio * d, d));
    dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
    initLinear(c_fc, config.initStd);
    initLinear(c_proj, config.initStd / std::sqrt(2.0 * static_cast<double>(blockCount(config))));
}

torch::Tensor TransformerMlpImpl::forward(const torch::Tensor& x) {
    return dropout(c_proj(torch::gelu(c_fc(x))));
}

TransformerBlockImpl::TransformerBlockImpl(const ModelConfig& config, bool withMlp) {
    const auto lnOpts = torch::nn::LayerNormOptions({config.dModel}).eps(config.normEps);
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(lnOpts));
    attn = register_module("attn", CausalSelfAttention(config));
    if (withMlp) {
        ln_2 = register_module("ln_2", torch::nn::LayerNorm(lnOpts));
        mlp = register_module("mlp", TransformerMlp(config));
    }
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, int64_t pos0, KvLayerCache* cache) {
    torch::Tensor h = x + attn->forward(ln_1(x), pos0, cache);
    if (!mlp.is_empty()) h = h + mlp(ln_2(h));
    return h;
}

TransformerBodyImpl::TransformerBodyImpl(const ModelConfig& config) {
    const int64_t v = config.paddedVocab(), d = config.dModel;
    wte = register_module("wte", torch::nn::Embedding(v, d));
    if (config.positions == "learned") wpe = register_module("wpe", torch::nn::Embedding(config.maxSeqLen, d));
    drop = register_module("drop", torch::nn::Dropout(config.dropout));
    h = register_module("h", torch::nn::ModuleList());
    const bool withMlp = config.arch != Architecture::Attention1;
    for (int64_t i = 0; i < blockCount(config); ++i) {
        TransformerBlock block(config, withMlp);
        h->push_back(block);
        blocks.push_back(block);
    }
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(config.normEps)));
    torch::NoGradGuard noGrad;
    wte->weight.normal_(0.0, config.initStd);
    if (!wpe.is_empty()) wpe->weight.normal_(0.0, config.initStd);
}

TransformerLMImpl::TransformerLMImpl(ModelConfig config) : LanguageModelImpl(std::move(config)) {
    m_config.validate();
    if (m_config.arch != Architecture::Transformer && m_config.arch != Architecture::Attention1)
        throw ConfigError("arch: TransformerLM needs arch = transformer or attention1");
    transformer = register_module("transformer", TransformerBody(m_config));
    if (!m_config.tieEmbeddings) {
        lm_head = register_module("lm_head", torch::nn::Linear(
                                                 torch::nn::LinearOptions(m_config.dModel, m_config.paddedVocab()).bias(false)));
        initLinear(lm_head, m_config.initStd);
    }
}

torch::Tensor TransformerLMImpl::embed(const torch::Tensor& ids, int64_t pos0) {
    const int64_t len = ids.size(1);
    torch::Tensor h = transformer->wte(ids);
    if (!transformer->wpe.is_empty()) {
        if (pos0 + len > m_config.maxSeqLen)
            throw std::invalid_argument("Transformer: context of " + std::to_string(pos0 + len) +
                                        " tokens exceeds max_seq_len = " + std::to_string(m_config.maxSeqLen));
        h = h + transformer->wpe(torch::arange(pos0, pos0 + len, ids.options()));
    }
    return transformer->drop(h);
}

torch::Tensor TransformerLMImpl::head(const torch::Tensor& h) {
    const torch::Tensor normed = transformer->ln_f(h);
    return torch::linear(normed, lm_head.is_empty() ? transformer->wte->weight : lm_head->weight);
}

torch::Tensor TransformerLMImpl::forward(const torch::Tensor& ids) {
    checkIds(ids, 2, "Transformer forward");
    torch::Tensor h = embed(ids, 0);
    const bool checkpoint = m_gradientCheckpointing && torch::GradMode::is_enabled();
    for (auto& block : transformer->blocks) {
        if (checkpoint) {
            TransformerBlock b = block;
            h = detail::checkpointBlock([b](const torch::Tensor& x) mutable { return b->forward(x); }, h,
                                        b->parameters(), /*replayRng=*/is_training() && m_config.dropout > 0.0);
        } else {
            h = block->forward(h);
        }
    }
    return head(h);
}

namespace {

KvCacheState& asKvState(DecodeState& state, int64_t batch, size_t layers) {
    auto* s = dynamic_cast<KvCacheState*>(&state);
    if (!s) throw std::invalid_argument("Transformer: decode state was not created by a Transformer model");
    if (s->layers.size() != layers || s->batch != batch)
        throw std::invalid_argument("Transformer: decode state does not match the model or batch size");
    return *s;
}

}  // namespace

std::unique_ptr<DecodeState> TransformerLMImpl::newState(int64_t batch) {
    auto state = std::make_unique<KvCacheState>();
    state->layers.resize(transformer->blocks.size());
    state->batch = batch;
    return state;
}

torch::Tensor TransformerLMImpl::prefill(const torch::Tensor& ids, DecodeState& stateBase) {
    checkIds(ids, 2, "Transformer prefill");
    if (ids.size(1) == 0) throw std::invalid_argument("Transformer prefill: empty prompt");
    KvCacheState& state = asKvState(stateBase, ids.size(0), transformer->blocks.size());
    const int64_t pos0 = state.tokens;
    torch::Tensor h = embed(ids, pos0);
    for (size_t i = 0; i < transformer->blocks.size(); ++i)
        h = transformer->blocks[i]->forward(h, pos0, &state.layers[i]);
    state.tokens += ids.size(1);
    return head(h.select(1, h.size(1) - 1));
}

torch::Tensor TransformerLMImpl::step(const torch::Tensor& ids, DecodeState& state) {
    checkIds(ids, 1, "Transformer step");
    return prefill(ids.unsqueeze(1), state);
}

int64_t TransformerLMImpl::numNonEmbeddingParameters() const {
    int64_t total = numParameters() - transformer->wte->weight.numel();
    if (!transformer->wpe.is_empty()) total -= transformer->wpe->weight.numel();
    return total;
}

}  // namespace mts

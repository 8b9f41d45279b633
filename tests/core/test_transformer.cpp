// Transformer, Attention1 and Linear baselines: causality, KV-cache / recurrent decoding equal
// to full recompute, checkpointed gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "tensor_checks.h"

using mts::test::maxDiff;

namespace {

using torch::indexing::Slice;

mts::ModelConfig tiny(mts::Architecture arch, const std::string& positions = "learned") {
    mts::ModelConfig c;
    c.arch = arch;
    c.dModel = 32;
    c.nLayer = 2;
    c.nHead = 4;
    c.vocabSize = 61;  // padded to 64
    c.maxSeqLen = 64;
    c.positions = positions;
    c.context = 5;
    return c;
}

void expectCausal(const mts::ModelConfig& cfg) {
    torch::manual_seed(11);
    auto model = mts::createModel(cfg);
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, cfg.vocabSize, {2, 14}, torch::kInt64);
    auto logits = model->forward(ids);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 14, cfg.paddedVocab()}));
    for (int64_t t : {0, 4, 12}) {
        auto changed = ids.clone();
        changed.index_put_({Slice(), t + 1}, (ids.index({Slice(), t + 1}) + 5) % cfg.vocabSize);
        auto other = model->forward(changed);
        EXPECT_LT(maxDiff(logits.narrow(1, 0, t + 1), other.narrow(1, 0, t + 1)), 1e-6) << "t=" << t;
        EXPECT_GT(maxDiff(logits.narrow(1, t + 1, 1), other.narrow(1, t + 1, 1)), 1e-6) << "t=" << t;
    }
}

void expectDecodeMatchesRecompute(const mts::ModelConfig& cfg) {
    torch::manual_seed(12);
    auto model = mts::createModel(cfg);
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, cfg.vocabSize, {2, 13}, torch::kInt64);
    auto full = model->forward(ids);
    auto state = model->newState(2);
    auto logits = model->prefill(ids.narrow(1, 0, 4), *state);
    EXPECT_LT(maxDiff(logits, full.select(1, 3)), 1e-5);
    logits = model->prefill(ids.narrow(1, 4, 3), *state);  // a continued prefill
    EXPECT_LT(maxDiff(logits, full.select(1, 6)), 1e-5);
    int64_t prevBytes = state->bytes();
    for (int64_t t = 7; t < ids.size(1); ++t) {
        logits = model->step(ids.select(1, t), *state);
        EXPECT_LT(maxDiff(logits, full.select(1, t)), 1e-5) << "t=" << t;
        EXPECT_GE(state->bytes(), prevBytes);
        prevBytes = state->bytes();
    }
    EXPECT_EQ(state->position(), ids.size(1));
}

TEST(TransformerModel, CausalWithLearnedPositions) { expectCausal(tiny(mts::Architecture::Transformer)); }
TEST(TransformerModel, CausalWithRope) { expectCausal(tiny(mts::Architecture::Transformer, "rope")); }

TEST(TransformerModel, KvCacheDecodingEqualsFullRecompute) {
    expectDecodeMatchesRecompute(tiny(mts::Architecture::Transformer));
}

TEST(TransformerModel, KvCacheDecodingEqualsFullRecomputeWithRope) {
    expectDecodeMatchesRecompute(tiny(mts::Architecture::Transformer, "rope"));
}

TEST(TransformerModel, KvCacheGrowsWithContext) {
    torch::manual_seed(13);
    auto cfg = tiny(mts::Architecture::Transformer);
    auto model = mts::createModel(cfg);
    torch::NoGradGuard noGrad;
    auto state = model->newState(1);
    model->prefill(torch::randint(0, 61, {1, 10}, torch::kInt64), *state);
    const int64_t hd = cfg.dModel / cfg.nHead;
    EXPECT_EQ(state->bytes(), cfg.nLayer * 2 * cfg.nHead * 10 * hd * 4);
    model->step(torch::randint(0, 61, {1}, torch::kInt64), *state);
    EXPECT_EQ(state->bytes(), cfg.nLayer * 2 * cfg.nHead * 11 * hd * 4);
}

TEST(TransformerModel, LearnedPositionsRejectContextBeyondMaxSeqLen) {
    auto cfg = tiny(mts::Architecture::Transformer);
    cfg.maxSeqLen = 8;
    auto model = mts::createModel(cfg);
    torch::NoGradGuard noGrad;
    EXPECT_THROW(model->forward(torch::zeros({1, 9}, torch::kInt64)), std::invalid_argument);
}

TEST(TransformerModel, ParameterCountsAndTiedHead) {
    auto cfg = tiny(mts::Architecture::Transformer);
    auto model = mts::createModel(cfg);
    const int64_t d = cfg.dModel, v = cfg.paddedVocab();
    const int64_t perBlock = 2 * (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
    const int64_t expected = v * d + cfg.maxSeqLen * d + cfg.nLayer * perBlock + 2 * d;
    EXPECT_EQ(model->numParameters(), expected);
    EXPECT_EQ(model->numNonEmbeddingParameters(), cfg.nLayer * perBlock + 2 * d);
    EXPECT_FALSE(model->named_parameters().contains("lm_head.weight"));
}

TEST(Attention1Model, CausalAndKvCacheDecoding) {
    auto cfg = tiny(mts::Architecture::Attention1);
    expectCausal(cfg);
    expectDecodeMatchesRecompute(cfg);
    auto model = mts::createModel(cfg);
    int blocks = 0;
    for (const auto& p : model->named_parameters()) {
        EXPECT_EQ(p.key().find("mlp"), std::string::npos) << p.key();
        if (p.key().find("ln_1.weight") != std::string::npos) ++blocks;
    }
    EXPECT_EQ(blocks, 1);
}

TEST(LinearModel, CausalAndDecodingEqualsRecompute) {
    auto cfg = tiny(mts::Architecture::Linear);
    expectCausal(cfg);
    expectDecodeMatchesRecompute(cfg);
}

TEST(LinearModel, SeesExactlyContextTokens) {
    torch::manual_seed(14);
    auto cfg = tiny(mts::Architecture::Linear);  // context 5
    auto model = mts::createModel(cfg);
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, cfg.vocabSize, {1, 12}, torch::kInt64);
    auto logits = model->forward(ids);
    auto changed = ids.clone();
    changed[0][3] = (ids[0][3].item<int64_t>() + 1) % cfg.vocabSize;
    auto other = model->forward(changed);
    // Token 3 is inside the window of positions 3..7 and outside it from position 8 on.
    EXPECT_GT(maxDiff(logits.narrow(1, 7, 1), other.narrow(1, 7, 1)), 1e-6);
    EXPECT_LT(maxDiff(logits.narrow(1, 8, 4), other.narrow(1, 8, 4)), 1e-6);
    // State holds at most context - 1 ids.
    auto state = model->newState(1);
    model->prefill(ids, *state);
    EXPECT_EQ(state->bytes(), (cfg.context - 1) * 8);
}

TEST(TransformerModel, GradientCheckpointingGivesTheSameGradients) {
    for (double dropout : {0.0, 0.2}) {
        auto cfg = tiny(mts::Architecture::Transformer, "rope");
        cfg.dropout = dropout;
        std::map<std::string, torch::Tensor> grads[2];
        for (int ck = 0; ck < 2; ++ck) {
            torch::manual_seed(15);
            auto model = mts::createModel(cfg);
            model->train();
            model->setGradientCheckpointing(ck == 1);
            torch::manual_seed(16);
            auto ids = torch::randint(0, cfg.vocabSize, {2, 10}, torch::kInt64);
            auto logits = model->forward(ids);
            auto loss = torch::nn::functional::cross_entropy(logits.narrow(1, 0, 9).reshape({-1, logits.size(2)}),
                                                             ids.narrow(1, 1, 9).reshape({-1}));
            loss.backward();
            for (const auto& p : model->named_parameters()) grads[ck][p.key()] = p.value().grad().clone();
        }
        for (const auto& [name, g] : grads[0])
            EXPECT_LT(maxDiff(g, grads[1].at(name)), 1e-5) << name << " dropout=" << dropout;
    }
}

}  // namespace

// Sparse MoE Transformer: routing (exactly the top-k experts), the load-balancing loss (its
// minimum for a uniform router), gradients against a dense reference in double when every
// expert is selected, KV-cache decoding, parameter counts (active vs total).
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/moe_transformer.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/train/memory_estimate.h"
#include "tensor_checks.h"

using mts::test::maxDiff;

namespace mts {
namespace {

ModelConfig tinyMoe(int64_t experts = 4, int64_t k = 2) {
    ModelConfig c;
    c.arch = Architecture::Moe;
    c.dModel = 16;
    c.nLayer = 2;
    c.nHead = 2;
    c.mlpRatio = 2;
    c.vocabSize = 61;
    c.maxSeqLen = 64;
    c.nExperts = experts;
    c.expertsPerToken = k;
    return c;
}

// One expert MLP in double: c_proj(gelu(c_fc(x))).
torch::Tensor expertReference(TransformerMlp& e, const torch::Tensor& x) {
    return torch::linear(torch::gelu(torch::linear(x, e->c_fc->weight, e->c_fc->bias)), e->c_proj->weight,
                         e->c_proj->bias);
}

TEST(MoeRouting, EachTokenGoesToExactlyItsTopKExperts) {
    torch::manual_seed(3);
    for (int64_t k : {1, 2, 3}) {
        ModelConfig cfg = tinyMoe(6, k);
        MoeMlp moe(cfg);
        torch::NoGradGuard noGrad;
        const torch::Tensor x = torch::randn({40, cfg.dModel});
        const MoeRouting r = moe->route(x);
        ASSERT_EQ(r.experts.sizes(), (std::vector<int64_t>{40, k}));
        // Reference in double: the k largest router logits of each token.
        const torch::Tensor logits = torch::matmul(x.to(torch::kDouble), moe->router->weight.to(torch::kDouble).t());
        for (int64_t t = 0; t < 40; ++t) {
            std::vector<std::pair<double, int64_t>> order;
            for (int64_t e = 0; e < 6; ++e) order.emplace_back(logits[t][e].item<double>(), e);
            std::sort(order.rbegin(), order.rend());
            std::set<int64_t> expected, got;
            for (int64_t j = 0; j < k; ++j) {
                expected.insert(order[j].second);
                got.insert(r.experts[t][j].item<int64_t>());
            }
            EXPECT_EQ(got.size(), static_cast<size_t>(k)) << "token " << t << " sent twice to one expert";
            EXPECT_EQ(got, expected) << "token " << t << ", k " << k;
            EXPECT_NEAR(r.gates[t].sum().item<double>(), 1.0, 1e-6);
        }
    }
}

TEST(MoeRouting, OutputIsTheGatedSumOfTheChosenExpertsOnly) {
    torch::manual_seed(4);
    ModelConfig cfg = tinyMoe(5, 2);
    MoeMlp moe(cfg);
    moe->to(torch::kDouble);
    moe->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor x = torch::randn({3, 7, cfg.dModel}, torch::kDouble);
    const torch::Tensor y = moe->forward(x);
    const torch::Tensor flat = x.reshape({-1, cfg.dModel});
    const torch::Tensor probs = torch::softmax(torch::matmul(flat, moe->router->weight.t()), -1);
    torch::Tensor expected = torch::zeros_like(flat);
    for (int64_t t = 0; t < flat.size(0); ++t) {
        auto [top, idx] = probs[t].topk(2);
        for (int64_t j = 0; j < 2; ++j) {
            const int64_t e = idx[j].item<int64_t>();
            expected[t] += (top[j] / top.sum()) * expertReference(moe->expertList[e], flat[t].unsqueeze(0))[0];
        }
    }
    EXPECT_LT(maxDiff(y.reshape({-1, cfg.dModel}), expected), 1e-12);
}

TEST(MoeAuxLoss, UniformRouterIsAtTheMinimumAndASkewedOneAbove) {
    const int64_t experts = 8;
    ModelConfig cfg = tinyMoe(experts, 2);
    MoeMlp moe(cfg);
    torch::NoGradGuard noGrad;
    const torch::Tensor x = torch::randn({64, cfg.dModel});
    moe->router->weight.zero_();  // every logit equal: P_i = 1/E for every token
    const double uniform = MoeMlpImpl::balanceLoss(moe->route(x), experts).item<double>();
    EXPECT_NEAR(uniform, 1.0, 1e-6);  // E * sum_i f_i / E = sum_i f_i = 1
    // A router that prefers experts 0 and 1 for every token: f = P concentrated -> up to E/k.
    moe->router->weight.zero_();
    moe->router->weight[0].fill_(1.0);
    moe->router->weight[1].fill_(0.9);
    const torch::Tensor positive = x.abs();  // logits 0 and 1 largest for every token
    const MoeRouting skewed = moe->route(positive);
    const double skewedLoss = MoeMlpImpl::balanceLoss(skewed, experts).item<double>();
    EXPECT_GT(skewedLoss, 1.5);
    EXPECT_LE(skewedLoss, static_cast<double>(experts) + 1e-6);
    // The formula in double: E * sum_i f_i * P_i.
    const torch::Tensor p = skewed.probs.to(torch::kDouble).mean(0);
    const double f0 = 0.5, f1 = 0.5;  // every token's two assignments are experts 0 and 1
    EXPECT_NEAR(skewedLoss, experts * (f0 * p[0].item<double>() + f1 * p[1].item<double>()), 1e-5);
    // And in the model: weighted mean over layers.
    auto model = std::dynamic_pointer_cast<MoeLMImpl>(createModel(cfg));
    ASSERT_TRUE(model);
    model->forward(torch::randint(0, cfg.vocabSize, {2, 9}, torch::kInt64));
    const double aux = model->auxiliaryLoss().item<double>();
    double mean = 0.0;
    for (auto& b : model->transformer->blocks) mean += b->moe->lastBalanceLoss().item<double>() / cfg.nLayer;
    EXPECT_NEAR(aux, cfg.auxLossWeight * mean, 1e-7);
}

// k == E: the MoE layer is the dense mixture sum_e softmax(router x)_e * expert_e(x).
TEST(MoeGradients, MatchADenseReferenceInDoubleWhenEveryExpertIsSelected) {
    torch::manual_seed(5);
    ModelConfig cfg = tinyMoe(4, 4);
    MoeMlp moe(cfg);
    moe->to(torch::kDouble);
    moe->eval();
    const torch::Tensor x0 = torch::randn({2, 5, cfg.dModel}, torch::kDouble);
    const torch::Tensor upstream = torch::randn({2, 5, cfg.dModel}, torch::kDouble);

    torch::Tensor x = x0.clone().requires_grad_(true);
    (moe->forward(x) * upstream).sum().backward();
    std::vector<torch::Tensor> moeGrads;
    for (auto& p : moe->parameters()) moeGrads.push_back(p.grad().clone());
    const torch::Tensor moeXGrad = x.grad().clone();
    moe->zero_grad();

    torch::Tensor xr = x0.clone().requires_grad_(true);
    const torch::Tensor probs = torch::softmax(torch::matmul(xr, moe->router->weight.t()), -1);  // (B, L, E)
    torch::Tensor dense = torch::zeros_like(xr);
    for (int64_t e = 0; e < 4; ++e)
        dense = dense + probs.select(-1, e).unsqueeze(-1) * expertReference(moe->expertList[e], xr);
    (dense * upstream).sum().backward();

    EXPECT_LT(maxDiff(moeXGrad, xr.grad()), 1e-10);
    auto params = moe->parameters();
    ASSERT_EQ(params.size(), moeGrads.size());
    for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(params[i].grad().defined()) << i;
        EXPECT_LT(maxDiff(moeGrads[i], params[i].grad()), 1e-10) << "parameter " << i;
    }
}

TEST(MoeModel, KvCacheStepsEqualTheFullForward) {
    torch::manual_seed(6);
    ModelConfig cfg = tinyMoe(4, 2);
    auto model = createModel(cfg);
    model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor ids = torch::randint(0, cfg.vocabSize, {2, 12}, torch::kInt64);
    const torch::Tensor full = model->forward(ids);
    ASSERT_EQ(full.sizes(), (std::vector<int64_t>{2, 12, cfg.paddedVocab()}));
    auto state = model->newState(2);
    EXPECT_LT(maxDiff(model->prefill(ids.narrow(1, 0, 5), *state), full.select(1, 4)), 1e-5);
    for (int64_t t = 5; t < 12; ++t)
        EXPECT_LT(maxDiff(model->step(ids.select(1, t), *state), full.select(1, t)), 1e-5) << "t=" << t;
    EXPECT_EQ(state->position(), 12);
    // Causal: changing a later token leaves earlier logits alone.
    torch::Tensor changed = ids.clone();
    changed.index_put_({torch::indexing::Slice(), 8}, (ids.select(1, 8) + 3) % cfg.vocabSize);
    EXPECT_LT(maxDiff(model->forward(changed).narrow(1, 0, 8), full.narrow(1, 0, 8)), 1e-6);
}

TEST(MoeModel, ActiveParametersCountKOfTheExperts) {
    ModelConfig cfg = tinyMoe(8, 2);
    auto model = createModel(cfg);
    const int64_t d = cfg.dModel, m = cfg.mlpRatio * d;
    const int64_t expert = d * m + m + m * d + d;
    EXPECT_EQ(model->numParameters(), countParameters(cfg));
    const int64_t embedding = cfg.paddedVocab() * d + cfg.maxSeqLen * d;
    EXPECT_EQ(model->numNonEmbeddingParameters(), model->numParameters() - embedding);
    EXPECT_EQ(model->numNonEmbeddingParameters() - model->numActiveNonEmbeddingParameters(),
              cfg.nLayer * 6 * expert);
    // A dense model's active count is its non-embedding count.
    ModelConfig dense = cfg;
    dense.arch = Architecture::Transformer;
    auto t = createModel(dense);
    EXPECT_EQ(t->numActiveNonEmbeddingParameters(), t->numNonEmbeddingParameters());
    EXPECT_FALSE(t->auxiliaryLoss().defined());
}

TEST(MoeModel, ConfigRoundTripsAndRejectsBadK) {
    ModelConfig cfg = tinyMoe(8, 2);
    cfg.auxLossWeight = 0.05;
    const ModelConfig back = ModelConfig::fromJson(cfg.toJson());
    EXPECT_EQ(back.arch, Architecture::Moe);
    EXPECT_EQ(back.nExperts, 8);
    EXPECT_EQ(back.expertsPerToken, 2);
    EXPECT_DOUBLE_EQ(back.auxLossWeight, 0.05);
    EXPECT_EQ(architectureFromString("moe"), Architecture::Moe);
    cfg.expertsPerToken = 9;
    EXPECT_THROW(cfg.validate(), std::exception);
    cfg.expertsPerToken = 0;
    EXPECT_THROW(cfg.validate(), std::exception);
}

}  // namespace
}  // namespace mts

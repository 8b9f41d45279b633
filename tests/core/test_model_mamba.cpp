// Mamba LM behaviour on tiny random models: layout, init, causality, recurrent == parallel,
// gradient checkpointing.
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/language_model.h"
#include "mts/core/model/mamba.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/torch_compat.h"
#include "tensor_checks.h"

using mts::test::maxDiff;

namespace {

mts::ModelConfig tinyMamba() {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba;
    c.dModel = 32;
    c.nLayer = 2;
    c.vocabSize = 50;  // padded to 56
    c.dState = 8;
    c.dConv = 4;
    c.expand = 2;
    return c;
}

TEST(MambaModel, ParameterNamesAreTheHuggingFaceKeys) {
    torch::manual_seed(0);
    auto model = mts::createModel(tinyMamba());
    std::set<std::string> names;
    for (const auto& p : model->named_parameters()) names.insert(p.key());
    std::set<std::string> expected = {"backbone.embeddings.weight", "backbone.norm_f.weight"};
    for (int i = 0; i < 2; ++i) {
        const std::string pre = "backbone.layers." + std::to_string(i) + ".";
        for (const char* k : {"norm.weight", "mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias",
                              "mixer.x_proj.weight", "mixer.dt_proj.weight", "mixer.dt_proj.bias", "mixer.A_log",
                              "mixer.D", "mixer.out_proj.weight"})
            expected.insert(pre + k);
    }
    EXPECT_EQ(names, expected);
    auto params = model->named_parameters();
    EXPECT_EQ(params["backbone.embeddings.weight"].sizes(), (std::vector<int64_t>{56, 32}));
    EXPECT_EQ(params["backbone.layers.0.mixer.in_proj.weight"].sizes(), (std::vector<int64_t>{128, 32}));
    EXPECT_EQ(params["backbone.layers.0.mixer.conv1d.weight"].sizes(), (std::vector<int64_t>{64, 1, 4}));
    EXPECT_EQ(params["backbone.layers.0.mixer.x_proj.weight"].sizes(), (std::vector<int64_t>{2 + 16, 64}));
    EXPECT_EQ(params["backbone.layers.0.mixer.dt_proj.weight"].sizes(), (std::vector<int64_t>{64, 2}));
    EXPECT_EQ(params["backbone.layers.0.mixer.A_log"].sizes(), (std::vector<int64_t>{64, 8}));
    EXPECT_EQ(params["backbone.layers.0.mixer.out_proj.weight"].sizes(), (std::vector<int64_t>{32, 64}));

    int64_t total = 0;
    for (const auto& p : model->parameters()) total += p.numel();
    EXPECT_EQ(model->numParameters(), total);  // tied head adds nothing
    EXPECT_EQ(model->numNonEmbeddingParameters(), total - 56 * 32);

    auto untiedCfg = tinyMamba();
    untiedCfg.tieEmbeddings = false;
    auto untied = mts::createModel(untiedCfg);
    EXPECT_EQ(untied->numParameters(), total + 56 * 32);
    EXPECT_TRUE(untied->named_parameters().contains("lm_head.weight"));
}

TEST(MambaModel, OfficialInitialisation) {
    torch::manual_seed(1);
    auto cfg = tinyMamba();
    cfg.dModel = 64;
    cfg.nLayer = 4;
    auto model = mts::createModel(cfg);
    auto params = model->named_parameters();
    const int64_t di = cfg.dInner(), n = cfg.dState, r = cfg.resolvedDtRank();
    for (int64_t i = 0; i < cfg.nLayer; ++i) {
        const std::string pre = "backbone.layers." + std::to_string(i) + ".mixer.";
        torch::Tensor dt = torch::softplus(params[pre + "dt_proj.bias"]);
        EXPECT_GE(dt.min().item<double>(), cfg.dtMin * (1 - 1e-4));
        EXPECT_LE(dt.max().item<double>(), cfg.dtMax * (1 + 1e-4));
        // log-uniform: the mean of log(dt) sits near the middle of [log dt_min, log dt_max].
        const double mid = 0.5 * (std::log(cfg.dtMin) + std::log(cfg.dtMax));
        EXPECT_NEAR(dt.log().mean().item<double>(), mid, 0.6);
        torch::Tensor expectedA = torch::log(torch::arange(1, n + 1, torch::kFloat32)).expand({di, n});
        EXPECT_LT(maxDiff(params[pre + "A_log"], expectedA), 1e-6);
        EXPECT_TRUE(torch::equal(params[pre + "D"], torch::ones({di})));
        const double dtStd = 1.0 / std::sqrt(static_cast<double>(r));
        EXPECT_LE(params[pre + "dt_proj.weight"].abs().max().item<double>(), dtStd);
        // out_proj: kaiming-uniform bound 1/sqrt(fan_in), divided by sqrt(n_layer).
        const double bound = 1.0 / std::sqrt(static_cast<double>(di)) / std::sqrt(static_cast<double>(cfg.nLayer));
        const torch::Tensor w = params[pre + "out_proj.weight"];
        EXPECT_LE(w.abs().max().item<double>(), bound * (1 + 1e-6));
        EXPECT_GT(w.abs().max().item<double>(), bound * 0.9);
    }
    const double embStd = params["backbone.embeddings.weight"].std().item<double>();
    EXPECT_NEAR(embStd, cfg.initStd, 0.003);
}

TEST(MambaModel, CausalLogits) {
    torch::manual_seed(2);
    auto model = mts::createModel(tinyMamba());
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, 50, {2, 12}, torch::kInt64);
    auto logits = model->forward(ids);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 12, 56}));
    for (int64_t t : {0, 5, 10}) {
        auto changed = ids.clone();
        changed.index_put_({torch::indexing::Slice(), t + 1}, (ids.index({torch::indexing::Slice(), t + 1}) + 7) % 50);
        auto other = model->forward(changed);
        EXPECT_LT(maxDiff(logits.narrow(1, 0, t + 1), other.narrow(1, 0, t + 1)), 1e-6) << "t=" << t;
        EXPECT_GT(maxDiff(logits.narrow(1, t + 1, 1), other.narrow(1, t + 1, 1)), 1e-6) << "t=" << t;
    }
}

void expectRecurrentMatchesParallel(const mts::ModelConfig& cfg) {
    auto model = mts::createModel(cfg);
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, cfg.vocabSize, {2, 11}, torch::kInt64);
    auto full = model->forward(ids);

    // Token by token from an empty state.
    auto state = model->newState(2);
    for (int64_t t = 0; t < ids.size(1); ++t) {
        auto logits = t == 0 ? model->prefill(ids.narrow(1, 0, 1), *state) : model->step(ids.select(1, t), *state);
        EXPECT_LT(maxDiff(logits, full.select(1, t)), 1e-4) << "t=" << t;
    }
    EXPECT_EQ(state->position(), ids.size(1));

    // Prefill of a short prompt (shorter than d_conv - 1), a second prefill chunk, then steps.
    auto s2 = model->newState(2);
    auto l2 = model->prefill(ids.narrow(1, 0, 2), *s2);
    EXPECT_LT(maxDiff(l2, full.select(1, 1)), 1e-4);
    l2 = model->prefill(ids.narrow(1, 2, 5), *s2);
    EXPECT_LT(maxDiff(l2, full.select(1, 6)), 1e-4);
    for (int64_t t = 7; t < ids.size(1); ++t) {
        l2 = model->step(ids.select(1, t), *s2);
        EXPECT_LT(maxDiff(l2, full.select(1, t)), 1e-4) << "t=" << t;
    }
}

TEST(MambaModel, RecurrentStepMatchesParallelForward) {
    torch::manual_seed(3);
    expectRecurrentMatchesParallel(tinyMamba());
}

TEST(MambaModel, VariantsStayCausalAndRecurrent) {
    torch::manual_seed(4);
    auto cfg = tinyMamba();
    cfg.residualGate = true;
    cfg.blockLayerNorm = true;
    cfg.gelu = true;
    cfg.dropout = 0.1;  // inactive in eval()
    auto model = mts::createModel(cfg);
    auto names = model->named_parameters();
    EXPECT_TRUE(names.contains("backbone.layers.0.residual_gate"));
    EXPECT_TRUE(names.contains("backbone.layers.1.out_norm.weight"));
    expectRecurrentMatchesParallel(cfg);
}

TEST(MambaModel, StateSizeIsConstantInContext) {
    torch::manual_seed(5);
    auto cfg = tinyMamba();
    auto model = mts::createModel(cfg);
    torch::NoGradGuard noGrad;
    auto state = model->newState(1);
    const int64_t expected = cfg.nLayer * (cfg.dInner() * (cfg.dConv - 1) + cfg.dInner() * cfg.dState) * 4;
    EXPECT_EQ(state->bytes(), expected);
    model->prefill(torch::randint(0, 50, {1, 20}, torch::kInt64), *state);
    for (int i = 0; i < 10; ++i) model->step(torch::randint(0, 50, {1}, torch::kInt64), *state);
    EXPECT_EQ(state->bytes(), expected);
    EXPECT_EQ(state->position(), 30);
}

TEST(MambaModel, RejectsBadInputs) {
    auto model = mts::createModel(tinyMamba());
    torch::NoGradGuard noGrad;
    auto state = model->newState(2);
    EXPECT_THROW(model->step(torch::zeros({3}, torch::kInt64), *state), std::invalid_argument);
    EXPECT_THROW(model->forward(torch::zeros({4}, torch::kInt64)), std::invalid_argument);
    auto bad = tinyMamba();
    bad.dModel = -3;
    EXPECT_THROW(mts::createModel(bad), mts::ConfigError);
}

std::map<std::string, torch::Tensor> gradsOf(const mts::ModelConfig& cfg, bool checkpoint) {
    torch::manual_seed(6);
    auto model = mts::createModel(cfg);
    model->train();
    model->setGradientCheckpointing(checkpoint);
    torch::manual_seed(7);
    auto ids = torch::randint(0, cfg.vocabSize, {2, 9}, torch::kInt64);
    auto logits = model->forward(ids);
    auto loss = torch::nn::functional::cross_entropy(logits.narrow(1, 0, 8).reshape({-1, logits.size(2)}),
                                                     ids.narrow(1, 1, 8).reshape({-1}));
    loss.backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& p : model->named_parameters()) {
        EXPECT_TRUE(p.value().grad().defined()) << p.key();
        if (p.value().grad().defined()) grads[p.key()] = p.value().grad().clone();
    }
    return grads;
}

void expectCheckpointGradsEqual(const mts::ModelConfig& cfg) {
    auto plain = gradsOf(cfg, false);
    auto ckpt = gradsOf(cfg, true);
    ASSERT_EQ(plain.size(), ckpt.size());
    for (const auto& [name, g] : plain) {
        ASSERT_TRUE(ckpt.count(name)) << name;
        EXPECT_LT(maxDiff(g, ckpt[name]), 1e-5) << name;
    }
}

TEST(MambaModel, GradientCheckpointingGivesTheSameGradients) {
    expectCheckpointGradsEqual(tinyMamba());
}

TEST(MambaModel, GradientCheckpointingReplaysDropoutMasks) {
    auto cfg = tinyMamba();
    cfg.dropout = 0.2;
    expectCheckpointGradsEqual(cfg);
}

// The fused training path (conv and scan kernels, the RMSNorm and split functions) against the
// same model with the reference scan: loss and every parameter's gradient.
TEST(MambaModel, FusedTrainingPathGivesTheReferenceGradients) {
    struct Restore {
        ~Restore() { mts::setAutoScanBackendOverride(mts::ScanBackend::Auto); }
    } restore;
    torch::manual_seed(12);
    auto model = mts::createModel(tinyMamba());
    const auto ids = torch::randint(0, 50, {2, 19}, torch::kInt64);
    const auto targets = torch::randint(0, 50, {2 * 19}, torch::kInt64);
    auto run = [&](mts::ScanBackend backend) {
        mts::setAutoScanBackendOverride(backend);
        model->zero_grad();
        const auto logits = model->forward(ids);
        const auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets);
        loss.backward();
        std::map<std::string, torch::Tensor> grads;
        for (const auto& p : model->named_parameters()) grads[p.key()] = p.value().grad().clone();
        return std::make_pair(loss.item<double>(), grads);
    };
    const auto fused = run(mts::ScanBackend::FusedCpu);
    const auto ref = run(mts::ScanBackend::Reference);
    EXPECT_NEAR(fused.first, ref.first, 1e-5);
    ASSERT_EQ(fused.second.size(), ref.second.size());
    for (const auto& [name, g] : fused.second) {
        const auto& r = ref.second.at(name);
        const double scale = r.abs().max().item<double>() + 1e-8;
        EXPECT_LT((g - r).abs().max().item<double>() / scale, 2e-4) << name;
    }
}

// A bf16 autocast training step (bf16 activations through the conv and scan kernels, bf16
// RMSNorm outputs, fp32 scan arithmetic and master weights) against the fp32 step: the loss and
// every parameter's gradient agree to bf16 accuracy (~1% here), and the reference scan backend
// (which widens bf16 inputs) agrees with the fused one under autocast.
TEST(MambaModel, Bf16AutocastTrainingStepStaysCloseToFp32) {
    struct Restore {
        ~Restore() { mts::setAutoScanBackendOverride(mts::ScanBackend::Auto); }
    } restore;
    torch::manual_seed(13);
    auto cfg = tinyMamba();
    cfg.dModel = 48;  // D_inner 96: full AVX-512 vectors and a tail
    auto model = mts::createModel(cfg);
    const auto ids = torch::randint(0, 50, {2, 37}, torch::kInt64);
    const auto targets = torch::randint(0, 50, {2 * 37}, torch::kInt64);
    auto run = [&](bool bf16, mts::ScanBackend backend) {
        mts::setAutoScanBackendOverride(backend);
        model->zero_grad();
        torch::Tensor loss;
        {
            mts::compat::AutocastGuard autocast(c10::DeviceType::CPU, at::kBFloat16, bf16);
            const auto logits = model->forward(ids);
            loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                                        targets);
        }
        loss.backward();
        std::map<std::string, torch::Tensor> grads;
        for (const auto& p : model->named_parameters()) grads[p.key()] = p.value().grad().clone();
        return std::make_pair(loss.item<double>(), grads);
    };
    const auto fp32 = run(false, mts::ScanBackend::FusedCpu);
    const auto bf16 = run(true, mts::ScanBackend::FusedCpu);
    const auto bf16Ref = run(true, mts::ScanBackend::Reference);
    EXPECT_NEAR(bf16.first, fp32.first, 0.01 * fp32.first);
    EXPECT_NEAR(bf16Ref.first, fp32.first, 0.01 * fp32.first);
    for (const auto& [name, g] : fp32.second) {
        ASSERT_EQ(g.scalar_type(), torch::kFloat32) << name;
        const double norm = g.norm().item<double>() + 1e-12;
        EXPECT_LT((bf16.second.at(name) - g).norm().item<double>() / norm, 0.05) << name;
        EXPECT_LT((bf16Ref.second.at(name) - g).norm().item<double>() / norm, 0.05) << name;
    }
}

TEST(MambaModel, Bf16AutocastForwardStaysCloseToFp32) {
    torch::manual_seed(8);
    auto model = mts::createModel(tinyMamba());
    model->eval();
    torch::NoGradGuard noGrad;
    auto ids = torch::randint(0, 50, {2, 10}, torch::kInt64);
    auto fp32 = model->forward(ids);
    torch::Tensor bf16;
    {
        mts::compat::AutocastGuard autocast(c10::DeviceType::CPU, at::kBFloat16, true);
        bf16 = model->forward(ids);
    }
    EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
    // bf16 keeps ~3 significant digits; logits of this tiny model are O(0.1).
    EXPECT_LT(maxDiff(bf16.to(torch::kFloat32), fp32), 0.05 * fp32.abs().max().item<double>() + 1e-3);
}

}  // namespace

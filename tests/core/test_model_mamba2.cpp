// Mamba-2 LM on tiny random models: the Hugging Face / mamba_ssm parameter layout, mamba_ssm's
// init, the in_proj row order (z, x, B, C, dt) against a from-scratch float64 mixer, causality,
// recurrent steps == parallel forward (float64), prefill + steps, training decreases the loss,
// config validation and the parameter count.
#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/kernels/ssd.h"
#include "mts/core/model/architectures.h"
#include "mts/core/model/mamba2.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/torch_compat.h"
#include "tensor_checks.h"

using mts::test::maxDiff;

namespace {

mts::ModelConfig tinyMamba2() {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba2;
    c.dModel = 32;
    c.nLayer = 2;
    c.vocabSize = 50;  // padded to 56
    c.dState = 8;
    c.dConv = 4;
    c.expand = 2;    // d_inner 64
    c.headDim = 16;  // 4 heads
    c.nGroups = 2;
    c.chunkSize = 5;  // does not divide the test lengths
    return c;
}

TEST(Mamba2Model, ParameterNamesAndShapesAreTheHuggingFaceKeys) {
    torch::manual_seed(0);
    auto model = mts::createModel(tinyMamba2());
    std::set<std::string> names;
    for (const auto& p : model->named_parameters()) names.insert(p.key());
    std::set<std::string> expected = {"backbone.embeddings.weight", "backbone.norm_f.weight"};
    for (int i = 0; i < 2; ++i) {
        const std::string pre = "backbone.layers." + std::to_string(i) + ".";
        for (const char* k : {"norm.weight", "mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias",
                              "mixer.dt_bias", "mixer.A_log", "mixer.D", "mixer.norm.weight", "mixer.out_proj.weight"})
            expected.insert(pre + k);
    }
    EXPECT_EQ(names, expected);
    auto params = model->named_parameters();
    using Shape = std::vector<int64_t>;
    const int64_t di = 64, gn = 2 * 8, h = 4;
    EXPECT_EQ(params["backbone.embeddings.weight"].sizes(), (Shape{56, 32}));
    EXPECT_EQ(params["backbone.layers.0.mixer.in_proj.weight"].sizes(), (Shape{2 * di + 2 * gn + h, 32}));
    EXPECT_EQ(params["backbone.layers.0.mixer.conv1d.weight"].sizes(), (Shape{di + 2 * gn, 1, 4}));
    EXPECT_EQ(params["backbone.layers.0.mixer.conv1d.bias"].sizes(), (Shape{di + 2 * gn}));
    for (const char* k : {"dt_bias", "A_log", "D"})
        EXPECT_EQ(params[std::string("backbone.layers.1.mixer.") + k].sizes(), (Shape{h})) << k;
    EXPECT_EQ(params["backbone.layers.0.mixer.norm.weight"].sizes(), (Shape{di}));
    EXPECT_EQ(params["backbone.layers.0.mixer.out_proj.weight"].sizes(), (Shape{32, di}));

    int64_t total = 0;
    for (const auto& p : model->parameters()) total += p.numel();
    EXPECT_EQ(model->numParameters(), total);  // tied head adds nothing
    EXPECT_EQ(*mts::checkedParameterCount(tinyMamba2()), total);
    EXPECT_EQ(model->numNonEmbeddingParameters(), total - 56 * 32);

    auto untiedCfg = tinyMamba2();
    untiedCfg.tieEmbeddings = false;
    untiedCfg.projBias = true;
    auto untied = mts::createModel(untiedCfg);
    EXPECT_TRUE(untied->named_parameters().contains("lm_head.weight"));
    EXPECT_TRUE(untied->named_parameters().contains("backbone.layers.0.mixer.in_proj.bias"));
    int64_t untiedTotal = 0;
    for (const auto& p : untied->parameters()) untiedTotal += p.numel();
    EXPECT_EQ(*mts::checkedParameterCount(untiedCfg), untiedTotal);
}

TEST(Mamba2Model, MambaSsmInitialisation) {
    torch::manual_seed(1);
    auto cfg = tinyMamba2();
    cfg.dModel = 128;  // 16 heads
    auto model = mts::createModel(cfg);
    auto params = model->named_parameters();
    for (int64_t i = 0; i < cfg.nLayer; ++i) {
        const std::string pre = "backbone.layers." + std::to_string(i) + ".mixer.";
        const torch::Tensor dt = torch::softplus(params[pre + "dt_bias"]);
        EXPECT_GE(dt.min().item<double>(), cfg.dtMin * (1 - 1e-4));
        EXPECT_LE(dt.max().item<double>(), cfg.dtMax * (1 + 1e-4));
        const torch::Tensor a = params[pre + "A_log"].exp();
        EXPECT_GE(a.min().item<double>(), 1.0 - 1e-5);
        EXPECT_LE(a.max().item<double>(), 16.0 + 1e-4);
        EXPECT_GT(a.max().item<double>() - a.min().item<double>(), 1.0);  // drawn, not a constant
        EXPECT_TRUE(params[pre + "D"].eq(1.0).all().item<bool>());
        EXPECT_TRUE(params[pre + "norm.weight"].eq(1.0).all().item<bool>());
    }
}

// The mixer written from the published formulas in float64 (in_proj rows z, x, B, C, dt; causal
// conv over x, B, C; SiLU; SSD via the sequential reference; gated RMSNorm per group).
torch::Tensor referenceMixer(mts::Mamba2MixerImpl& m, const mts::ModelConfig& c, const torch::Tensor& u) {
    const int64_t b = u.size(0), l = u.size(1), di = c.dInner(), g = c.nGroups, n = c.dState, p = c.headDim;
    const int64_t h = di / p, conv = di + 2 * g * n;
    const torch::Tensor proj = torch::matmul(u, m.in_proj->weight.t());
    const torch::Tensor z = proj.narrow(-1, 0, di), xbc = proj.narrow(-1, di, conv), dt = proj.narrow(-1, di + conv, h);
    const torch::Tensor w = m.conv1d->weight.squeeze(1);  // (conv, K)
    torch::Tensor xc = torch::zeros_like(xbc);
    for (int64_t t = 0; t < l; ++t)
        for (int64_t j = 0; j < c.dConv; ++j) {
            const int64_t s = t - (c.dConv - 1) + j;
            if (s >= 0) xc.select(1, t).add_(xbc.select(1, s) * w.select(1, j));
        }
    xc = torch::silu(xc + m.conv1d->bias);
    mts::SsdInputs in;
    in.x = xc.narrow(-1, 0, di).reshape({b, l, h, p});
    in.Bm = xc.narrow(-1, di, g * n).reshape({b, l, g, n});
    in.Cm = xc.narrow(-1, di + g * n, g * n).reshape({b, l, g, n});
    in.dt = torch::softplus(dt + m.dt_bias);
    in.A = -m.A_log.exp();
    in.D = m.D;
    const torch::Tensor y = mts::ssdReference(in).y.reshape({b, l, di}) * torch::silu(z);
    const torch::Tensor yg = y.reshape({b, l, g, di / g});
    const torch::Tensor normed = (yg / (yg.pow(2).mean(-1, true) + c.normEps).sqrt()).reshape({b, l, di});
    return torch::matmul(normed * m.norm->weight, m.out_proj->weight.t());
}

TEST(Mamba2Model, MixerMatchesTheFormulasInFloat64) {
    torch::manual_seed(2);
    const auto cfg = tinyMamba2();
    mts::Mamba2Mixer mixer(cfg);
    mixer->to(torch::kFloat64);
    torch::NoGradGuard noGrad;
    const torch::Tensor u = torch::randn({2, 13, cfg.dModel}, torch::kFloat64);
    EXPECT_LT(maxDiff(mixer->forward(u), referenceMixer(*mixer, cfg, u)), 1e-11);
}

TEST(Mamba2Model, MixerGradientsMatchTheFormulasInFloat64) {
    // On the CPU the mixer runs the fused SSD and gated norm: every parameter's gradient and the
    // input's equal those of the formulas (sequential SSD reference, tensor-op norm).
    torch::manual_seed(3);
    const auto cfg = tinyMamba2();
    mts::Mamba2Mixer mixer(cfg);
    mixer->to(torch::kFloat64);
    const torch::Tensor u = torch::randn({2, 13, cfg.dModel}, torch::kFloat64).requires_grad_(true);
    std::vector<torch::Tensor> wrt = {u};
    for (const auto& p : mixer->parameters()) wrt.push_back(p);
    const torch::Tensor got = mixer->forward(u);
    const torch::Tensor ref = referenceMixer(*mixer, cfg, u);
    const torch::Tensor gout = torch::randn_like(ref);
    const auto gGot = torch::autograd::grad({got}, wrt, {gout}, /*retain_graph=*/true, false, /*allow_unused=*/true);
    const auto gRef = torch::autograd::grad({ref}, wrt, {gout}, true, false, true);
    const auto names = mixer->named_parameters().keys();
    size_t compared = 0;
    for (size_t i = 0; i < wrt.size(); ++i) {
        const std::string name = i == 0 ? "input" : names[i - 1];
        if (!gRef[i].defined()) continue;  // a bias the formulas leave out
        ASSERT_TRUE(gGot[i].defined()) << name;
        const double scale = std::max(1.0, gRef[i].abs().max().item<double>());
        EXPECT_LT(maxDiff(gGot[i], gRef[i]) / scale, 1e-10) << name;
        ++compared;
    }
    EXPECT_GE(compared, size_t{8});  // input, in_proj, conv weight and bias, dt_bias, A_log, D, norm, out_proj
}

TEST(Mamba2Model, StepByStepEqualsTheFullForwardInFloat64) {
    torch::manual_seed(3);
    auto model = mts::createModel(tinyMamba2());
    model->to(torch::kFloat64);
    model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor ids = torch::randint(0, 50, {2, 17}, torch::kInt64);
    const torch::Tensor full = model->forward(ids);  // (2, 17, V)
    auto state = model->newState(2);
    for (int64_t t = 0; t < 17; ++t) {
        const torch::Tensor logits = model->step(ids.select(1, t), *state);
        EXPECT_LT(maxDiff(logits, full.select(1, t)), 1e-10) << "position " << t;
    }
    EXPECT_EQ(state->position(), 17);
    // Prefill of 11 tokens, then steps: the same logits.
    auto state2 = model->newState(2);
    const torch::Tensor last = model->prefill(ids.narrow(1, 0, 11), *state2);
    EXPECT_LT(maxDiff(last, full.select(1, 10)), 1e-10);
    for (int64_t t = 11; t < 17; ++t)
        EXPECT_LT(maxDiff(model->step(ids.select(1, t), *state2), full.select(1, t)), 1e-10) << "position " << t;
    // Prefill continued by a second prefill (the chunked path from a non-zero state).
    auto state3 = model->newState(2);
    model->prefill(ids.narrow(1, 0, 6), *state3);
    const torch::Tensor cont = model->prefill(ids.narrow(1, 6, 11), *state3);
    EXPECT_LT(maxDiff(cont, full.select(1, 16)), 1e-10);
}

TEST(Mamba2Model, CausalAndStateIsConstantSize) {
    torch::manual_seed(4);
    auto model = mts::createModel(tinyMamba2());
    model->eval();
    torch::NoGradGuard noGrad;
    torch::Tensor ids = torch::randint(0, 50, {1, 12}, torch::kInt64);
    const torch::Tensor a = model->forward(ids);
    ids.index_put_({0, 8}, (ids.index({0, 8}).item<int64_t>() + 1) % 50);
    const torch::Tensor b = model->forward(ids);
    EXPECT_LT(maxDiff(a.narrow(1, 0, 8), b.narrow(1, 0, 8)), 1e-6);
    EXPECT_GT(maxDiff(a.narrow(1, 8, 4), b.narrow(1, 8, 4)), 1e-6);
    auto state = model->newState(1);
    const int64_t before = state->bytes();
    model->prefill(ids, *state);
    for (int i = 0; i < 5; ++i) model->step(ids.select(1, i), *state);
    EXPECT_EQ(state->bytes(), before);
    EXPECT_GT(before, 0);
}

double trainSteps(mts::LanguageModel& model, const torch::Tensor& ids, int steps, bool bf16, double* first) {
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3));
    double last = 0.0;
    for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        torch::Tensor logits;
        {
            // One autocast region per forward, as the trainer does (its cached bf16 weights
            // would go stale across optimizer steps).
            mts::compat::AutocastGuard autocast(c10::DeviceType::CPU, torch::kBFloat16, bf16);
            logits = model->forward(ids.narrow(1, 0, ids.size(1) - 1));
        }
        const torch::Tensor loss = torch::nn::functional::cross_entropy(
            logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), ids.narrow(1, 1, ids.size(1) - 1).reshape({-1}));
        loss.backward();
        opt.step();
        last = loss.item<double>();
        if (s == 0 && first) *first = last;
    }
    return last;
}

TEST(Mamba2Model, TrainingStepsDecreaseTheLossFp32AndBf16) {
    for (bool bf16 : {false, true}) {
        torch::manual_seed(5);
        auto model = mts::createModel(tinyMamba2());
        model->train();
        const torch::Tensor ids = torch::arange(0, 40, torch::kInt64).remainder(7).unsqueeze(0).repeat({2, 1});
        double first = 0.0;
        const double last = trainSteps(model, ids, 30, bf16, &first);
        EXPECT_TRUE(std::isfinite(last));
        EXPECT_LT(last, first * 0.5) << (bf16 ? "bf16" : "fp32") << ": first " << first << ", last " << last;
        for (const auto& p : model->parameters()) EXPECT_TRUE(p.grad().defined());
    }
}

TEST(Mamba2Model, GradientCheckpointingGivesTheSameGradients) {
    torch::manual_seed(6);
    auto model = mts::createModel(tinyMamba2());
    const torch::Tensor ids = torch::randint(0, 50, {2, 14}, torch::kInt64);
    auto grads = [&](bool on) {
        model->setGradientCheckpointing(on);
        model->zero_grad();
        model->forward(ids).pow(2).mean().backward();
        std::vector<torch::Tensor> g;
        for (const auto& p : model->parameters()) g.push_back(p.grad().clone());
        return g;
    };
    const auto plain = grads(false), checkpointed = grads(true);
    ASSERT_EQ(plain.size(), checkpointed.size());
    for (size_t i = 0; i < plain.size(); ++i) EXPECT_LT(maxDiff(plain[i], checkpointed[i]), 1e-6) << i;
}

TEST(Mamba2Model, ConfigValidationAndJson) {
    auto c = tinyMamba2();
    c.headDim = 24;  // does not divide d_inner 64
    EXPECT_THROW(c.validate(), mts::ConfigError);
    c = tinyMamba2();
    c.nGroups = 3;  // does not divide 4 heads
    EXPECT_THROW(c.validate(), mts::ConfigError);
    c = tinyMamba2();
    c.chunkSize = 0;
    EXPECT_THROW(c.validate(), mts::ConfigError);

    const auto back = mts::ModelConfig::fromJson(tinyMamba2().toJson());
    EXPECT_EQ(back.arch, mts::Architecture::Mamba2);
    EXPECT_EQ(back.headDim, 16);
    EXPECT_EQ(back.nGroups, 2);
    EXPECT_EQ(back.chunkSize, 5);
    EXPECT_EQ(back.dState, 8);
    // A config without d_state gets Mamba-2's 128; Mamba-1 keeps 16.
    EXPECT_EQ(mts::ModelConfig::fromJson({{"arch", "mamba2"}, {"d_model", 64}}).dState, 128);
    EXPECT_EQ(mts::ModelConfig::fromJson({{"arch", "mamba"}, {"d_model", 64}}).dState, 16);
    EXPECT_EQ(mts::architectureFromString("mamba2"), mts::Architecture::Mamba2);
    EXPECT_EQ(mts::architectureInfo(mts::Architecture::Mamba2).displayName, "Mamba-2");
}

}  // namespace

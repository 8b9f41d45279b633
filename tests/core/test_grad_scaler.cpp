// GradScaler (fp16 dynamic loss scaling): growth, backoff and skip against hand-computed
// sequences, an injected inf leaving the parameters alone, and the state through a checkpoint.
// All on the CPU in float32: the scaler's logic needs no fp16 autocast.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/grad_scaler.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

// One parameter whose gradient the test sets by hand.
struct OneParam {
    torch::Tensor p = torch::tensor({1.0f, 2.0f, 3.0f}).requires_grad_(true);
    void setGrad(std::vector<float> g) { p.mutable_grad() = torch::tensor(g); }
    std::vector<torch::Tensor> params() const { return {p}; }
};

// Runs one scaler step with gradient values `g` (already multiplied by the scale, as a scaled
// backward would leave them); the "optimizer" subtracts the gradient. Returns whether it stepped.
bool scaledStep(GradScaler& s, OneParam& x, std::vector<float> g) {
    for (float& v : g) v *= static_cast<float>(s.scale());
    x.setGrad(g);
    const bool stepped = s.step(x.params(), [&] {
        torch::NoGradGuard ng;
        x.p.sub_(x.p.grad());
    });
    s.update();
    return stepped;
}

TEST(GradScaler, DefaultsAreTorchAmp) {
    GradScaler s;
    EXPECT_EQ(s.scale(), 65536.0);
    EXPECT_EQ(s.options().growthFactor, 2.0);
    EXPECT_EQ(s.options().backoffFactor, 0.5);
    EXPECT_EQ(s.options().growthInterval, 2000);
    for (int i = 0; i < 1999; ++i) s.update(false);
    EXPECT_EQ(s.scale(), 65536.0);
    EXPECT_EQ(s.goodSteps(), 1999);
    s.update(false);  // the 2000th good step
    EXPECT_EQ(s.scale(), 131072.0);
    EXPECT_EQ(s.goodSteps(), 0);
    s.update(true);
    EXPECT_EQ(s.scale(), 65536.0);
}

TEST(GradScaler, GrowthBackoffAndSkipFollowAHandComputedSequence) {
    GradScalerOptions o;
    o.initScale = 8;
    o.growthInterval = 3;
    GradScaler s(o);
    OneParam x;
    const float inf = std::numeric_limits<float>::infinity();
    // step: gradient -> stepped?, scale after, good steps after
    struct Row {
        std::vector<float> g;
        bool stepped;
        double scale;
        int64_t good;
    };
    const std::vector<Row> rows = {
        {{0.5f, 0.f, 0.f}, true, 8, 1},   {{0.5f, 0.f, 0.f}, true, 8, 2},
        {{0.5f, 0.f, 0.f}, true, 16, 0},  // third good step in a row: x2
        {{inf, 0.f, 0.f}, false, 8, 0},   // overflow: x0.5, count restarts
        {{0.5f, 0.f, 0.f}, true, 8, 1},   {{0.5f, 0.f, 0.f}, true, 8, 2},
        {{0.f, NAN, 0.f}, false, 4, 0},   // nan counts as an overflow too
        {{0.5f, 0.f, 0.f}, true, 4, 1},   {{0.5f, 0.f, 0.f}, true, 4, 2},
        {{0.5f, 0.f, 0.f}, true, 8, 0},
    };
    int stepsTaken = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(scaledStep(s, x, rows[i].g), rows[i].stepped) << "step " << i + 1;
        EXPECT_EQ(s.scale(), rows[i].scale) << "step " << i + 1;
        EXPECT_EQ(s.goodSteps(), rows[i].good) << "step " << i + 1;
        stepsTaken += rows[i].stepped;
    }
    EXPECT_EQ(s.skippedSteps(), 2);
    // Every step that ran subtracted the unscaled 0.5 from the first parameter.
    EXPECT_FLOAT_EQ(x.p[0].item<float>(), 1.0f - 0.5f * static_cast<float>(stepsTaken));
    EXPECT_FLOAT_EQ(x.p[1].item<float>(), 2.0f);
}

TEST(GradScaler, InjectedInfSkipsTheStepAndLeavesTheParametersUnchanged) {
    GradScaler s;
    OneParam x;
    const auto before = x.p.detach().clone();
    x.setGrad({1.0f, std::numeric_limits<float>::infinity(), 3.0f});
    bool ran = false;
    EXPECT_FALSE(s.unscale(x.params()));
    EXPECT_FALSE(s.step(x.params(), [&] { ran = true; }));
    s.update();
    EXPECT_FALSE(ran);
    EXPECT_TRUE(torch::equal(x.p.detach(), before));
    EXPECT_EQ(s.scale(), 32768.0);
    EXPECT_EQ(s.skippedSteps(), 1);
}

TEST(GradScaler, UnscaleRestoresTheTrueGradientsBeforeClipping) {
    // A scaled backward then unscale() gives the gradients of the unscaled loss (compared with
    // a double-precision reference), so clipping and the grad norm see true values.
    torch::manual_seed(3);
    auto w = torch::randn({4, 5}, torch::kFloat32).requires_grad_(true);
    auto in = torch::randn({6, 4}, torch::kFloat32);
    GradScalerOptions o;
    o.initScale = 1024;
    GradScaler s(o);
    s.scaleLoss(torch::tanh(in.matmul(w)).pow(2).sum()).backward();
    ASSERT_TRUE(s.unscale({w}));
    auto wd = w.detach().to(torch::kFloat64).requires_grad_(true);
    torch::tanh(in.to(torch::kFloat64).matmul(wd)).pow(2).sum().backward();
    EXPECT_TRUE(torch::allclose(w.grad().to(torch::kFloat64), wd.grad(), 1e-5, 1e-5));
    EXPECT_THROW(s.unscale({w}), std::logic_error);  // once per step
    s.update();
    EXPECT_EQ(s.goodSteps(), 1);
}

TEST(GradScaler, NeverDropsBelowTheMinimumAndRejectsBadOptions) {
    GradScalerOptions o;
    o.initScale = 2;
    GradScaler s(o);
    for (int i = 0; i < 4; ++i) s.update(true);
    EXPECT_EQ(s.scale(), 1.0);
    GradScalerOptions bad;
    bad.backoffFactor = 1.5;
    EXPECT_THROW(GradScaler{bad}, std::invalid_argument);
    bad = {};
    bad.growthInterval = 0;
    EXPECT_THROW(GradScaler{bad}, std::invalid_argument);
    EXPECT_THROW(s.load({std::nan(""), 0}), std::invalid_argument);
    EXPECT_THROW(s.load({0.0, 0}), std::invalid_argument);
    EXPECT_THROW(s.load({8.0, -1}), std::invalid_argument);
}

TEST(GradScaler, StateRoundTripsThroughACheckpoint) {
    test::TempDir dir;
    TrainConfig cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.model.vocabSize = 257;
    cfg.precision = Precision::Fp16;
    GradScalerOptions o;
    o.initScale = 64;
    o.growthInterval = 4;
    GradScaler s(o);
    for (bool inf : {false, false, false, false, true, false, false})  // 64 -> 128 -> 64, 2 good
        s.update(inf);
    ASSERT_EQ(s.scale(), 64.0);
    ASSERT_EQ(s.goodSteps(), 2);

    torch::manual_seed(1);
    auto model = createModel(cfg.model);
    std::vector<NamedParam> params;
    std::vector<bool> decay;
    for (auto& p : model->named_parameters()) {
        params.push_back({p.key(), p.value()});
        decay.push_back(false);
    }
    AdamW opt(params, decay, AdamWOptions{});
    TrainerState st;
    st.step = 7;
    st.lossScale = s.scale();
    st.goodStepsSinceScale = s.goodSteps();
    auto tok = makeByteTokenizer();
    CheckpointWrite w{&cfg, &st, model.get(), tok.get(), &opt, 0};
    writeCheckpoint(dir / "checkpoints", w);

    auto ck = readCheckpoint(dir.path());
    GradScaler resumed(o);
    resumed.load({ck.state.lossScale, ck.state.goodStepsSinceScale});
    EXPECT_EQ(resumed.scale(), 64.0);
    EXPECT_EQ(resumed.goodSteps(), 2);
    // The resumed scaler continues exactly where the first one is.
    for (bool inf : {false, false, true, false}) {
        s.update(inf);
        resumed.update(inf);
        EXPECT_EQ(resumed.scale(), s.scale());
        EXPECT_EQ(resumed.goodSteps(), s.goodSteps());
    }
}

}  // namespace
}  // namespace mts

// The chunked SSD (kernels/ssd.h) against the sequential recurrence in float64: outputs, final
// state and the gradient of every input, for several chunk sizes (some not dividing L), with
// groups; and against tests/fixtures/mamba2/ssd_minimal.json, written by an independent Python
// implementation of mamba_ssm's ssd_minimal_discrete (make_fixture.py).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/ssd.h"
#include "mts/core/runtime/torch_compat.h"
#include "ssd_fixture.h"
#include "tensor_checks.h"

using mts::test::maxDiff;

namespace {

struct Sizes {
    int64_t b, l, h, p, g, n;
};

mts::SsdInputs randomInputs(const Sizes& s, torch::ScalarType dtype, bool withInitial, uint64_t seed) {
    torch::manual_seed(static_cast<int64_t>(seed));
    const auto o = torch::TensorOptions().dtype(dtype);
    mts::SsdInputs in;
    in.x = torch::randn({s.b, s.l, s.h, s.p}, o);
    in.dt = torch::nn::functional::softplus(torch::randn({s.b, s.l, s.h}, o) - 1.0);  // positive
    in.A = -torch::rand({s.h}, o) * 3.0 - 0.1;                                         // negative
    in.Bm = torch::randn({s.b, s.l, s.g, s.n}, o);
    in.Cm = torch::randn({s.b, s.l, s.g, s.n}, o);
    in.D = torch::randn({s.h}, o);
    if (withInitial) in.initialState = torch::randn({s.b, s.h, s.p, s.n}, o);
    return in;
}

std::vector<torch::Tensor> leaves(mts::SsdInputs& in) {
    std::vector<torch::Tensor> v = {in.x, in.dt, in.A, in.Bm, in.Cm, in.D};
    if (in.initialState.defined()) v.push_back(in.initialState);
    for (auto& t : v) t.requires_grad_(true);
    return v;
}

const char* kNames[] = {"x", "dt", "A", "Bm", "Cm", "D", "initialState"};

// Outputs and all gradients of the chunked form equal the sequential recurrence (float64).
void checkAgainstReference(const Sizes& s, int64_t chunk, bool withInitial) {
    mts::SsdInputs in = randomInputs(s, torch::kFloat64, withInitial, 17 + chunk);
    const std::vector<torch::Tensor> inputs = leaves(in);
    mts::SsdOutputs ref = mts::ssdReference(in);
    mts::SsdOutputs got = mts::ssdChunked(in, chunk, /*returnFinalState=*/true);
    ASSERT_EQ(got.y.sizes(), ref.y.sizes());
    ASSERT_EQ(got.finalState.sizes(), ref.finalState.sizes());
    EXPECT_LT(maxDiff(got.y, ref.y), 1e-10) << "y, chunk " << chunk;
    EXPECT_LT(maxDiff(got.finalState, ref.finalState), 1e-10) << "final state, chunk " << chunk;

    torch::manual_seed(5);
    const torch::Tensor gy = torch::randn_like(ref.y), gs = torch::randn_like(ref.finalState);
    const auto refGrads = torch::autograd::grad({ref.y, ref.finalState}, inputs, {gy, gs});
    const auto gotGrads = torch::autograd::grad({got.y, got.finalState}, inputs, {gy, gs});
    for (size_t i = 0; i < inputs.size(); ++i) {
        ASSERT_TRUE(gotGrads[i].defined()) << kNames[i];
        const double scale = std::max(1.0, refGrads[i].abs().max().item<double>());
        EXPECT_LT(maxDiff(gotGrads[i], refGrads[i]) / scale, 1e-10) << "d" << kNames[i] << ", chunk " << chunk;
    }
}

TEST(Ssd, ChunkedEqualsSequentialWithGradients) {
    const Sizes s{2, 23, 4, 3, 2, 5};
    for (int64_t chunk : {1, 4, 5, 8, 23, 64}) checkAgainstReference(s, chunk, /*withInitial=*/false);
}

TEST(Ssd, ChunkedEqualsSequentialFromAnInitialState) {
    const Sizes s{2, 19, 6, 2, 3, 4};
    for (int64_t chunk : {3, 7, 16}) checkAgainstReference(s, chunk, /*withInitial=*/true);
}

TEST(Ssd, OneGroupAndOneHeadPerGroup) {
    checkAgainstReference({1, 12, 4, 3, 1, 2}, 5, false);  // G = 1: every head reads the same B, C
    checkAgainstReference({1, 12, 4, 3, 4, 2}, 4, true);   // G = H
}

TEST(Ssd, Float32CloseToTheFloat64Reference) {
    mts::SsdInputs in = randomInputs({2, 70, 4, 8, 1, 16}, torch::kFloat32, true, 3);
    mts::SsdOutputs ref = mts::ssdReference(in);
    mts::SsdOutputs got = mts::ssdChunked(in, 32, true);
    EXPECT_EQ(got.y.scalar_type(), torch::kFloat32);
    const double scale = ref.y.abs().max().item<double>();
    EXPECT_LT(maxDiff(got.y, ref.y) / scale, 1e-5);
    EXPECT_LT(maxDiff(got.finalState, ref.finalState) / ref.finalState.abs().max().item<double>(), 1e-5);
}

TEST(Ssd, Bf16AutocastProductsStayCloseToTheReference) {
    // Under bf16 autocast the four large products take bf16 operands (fp32 accumulation): the
    // output keeps about 2-3 significant digits; the gradients flow through the casts.
    mts::SsdInputs in = randomInputs({2, 70, 4, 8, 1, 16}, torch::kFloat32, true, 4);
    mts::SsdOutputs ref = mts::ssdReference(in);
    in.x.requires_grad_(true);
    mts::SsdOutputs got;
    {
        mts::compat::AutocastGuard autocast(c10::DeviceType::CPU, torch::kBFloat16, true);
        got = mts::ssdChunked(in, 16, true);
    }
    EXPECT_EQ(got.y.scalar_type(), torch::kFloat32);
    EXPECT_LT(maxDiff(got.y, ref.y) / ref.y.abs().max().item<double>(), 3e-2);
    EXPECT_LT(maxDiff(got.finalState, ref.finalState) / ref.finalState.abs().max().item<double>(), 3e-2);
    got.y.sum().backward();
    EXPECT_TRUE(in.x.grad().defined());
    EXPECT_TRUE(torch::isfinite(in.x.grad()).all().item<bool>());
}

TEST(Ssd, StepsContinueTheChunkedForm) {
    // Prefill 10 tokens with the chunked form, then step the remaining 5 one at a time.
    mts::SsdInputs in = randomInputs({2, 15, 4, 3, 2, 5}, torch::kFloat64, false, 9);
    mts::SsdOutputs ref = mts::ssdReference(in);
    mts::SsdInputs head = in;
    for (torch::Tensor* t : {&head.x, &head.dt, &head.Bm, &head.Cm}) *t = t->narrow(1, 0, 10);
    mts::SsdOutputs pre = mts::ssdChunked(head, 4, true);
    EXPECT_LT(maxDiff(pre.y, ref.y.narrow(1, 0, 10)), 1e-10);
    torch::Tensor state = pre.finalState.clone();
    for (int64_t t = 10; t < 15; ++t) {
        torch::Tensor y = mts::ssdStep(in.x.select(1, t), in.dt.select(1, t), in.A, in.Bm.select(1, t),
                                       in.Cm.select(1, t), in.D, state);
        EXPECT_LT(maxDiff(y, ref.y.select(1, t)), 1e-10) << "step " << t;
    }
    EXPECT_LT(maxDiff(state, ref.finalState), 1e-10);
}

TEST(Ssd, BadShapesAreRefusedWithTheirName) {
    mts::SsdInputs in = randomInputs({1, 8, 4, 2, 2, 3}, torch::kFloat32, false, 1);
    in.Bm = torch::randn({1, 8, 3, 3});  // 3 groups do not divide 4 heads
    EXPECT_THROW(mts::ssdChunked(in, 4), std::invalid_argument);
    in = randomInputs({1, 8, 4, 2, 2, 3}, torch::kFloat32, false, 1);
    in.dt = torch::rand({1, 7, 4});
    try {
        mts::ssdChunked(in, 4);
        FAIL() << "a short dt was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("dt"), std::string::npos) << e.what();
    }
    in = randomInputs({1, 8, 4, 2, 2, 3}, torch::kFloat32, false, 1);
    EXPECT_THROW(mts::ssdChunked(in, 0), std::invalid_argument);
}

TEST(Ssd, MatchesThePythonMinimalSsdFixture) {
    const std::vector<mts::test::SsdFixtureCase> cases = mts::test::loadSsdMinimalFixture();
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        for (int64_t chunk : {c.blockLen, int64_t{5}}) {
            mts::SsdOutputs got = mts::ssdChunked(c.in, chunk, true);
            EXPECT_LT(maxDiff(got.y, c.y), 1e-9) << c.name << " chunk " << chunk;
            EXPECT_LT(maxDiff(got.finalState, c.finalState), 1e-9) << c.name << " chunk " << chunk;
        }
    }
}

}  // namespace

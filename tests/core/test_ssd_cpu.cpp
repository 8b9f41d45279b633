// The fused CPU SSD (kernels/ssd_cpu.h) against the sequential recurrence in float64 (outputs,
// final state, every gradient), for several chunk sizes (some not dividing L), one and several
// groups, with and without D and an initial state, strided inputs, every compiled ISA; float32
// and bf16 storage against the same reference; and against the Python fixture
// tests/fixtures/mamba2/ssd_minimal.json.

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/kernels/ssd.h"
#include "mts/core/kernels/ssd_cpu.h"
#include "ssd_fixture.h"
#include "tensor_checks.h"

using mts::test::maxDiff;
using mts::test::relDiff;

namespace {

struct CpuSizes {
    int64_t b, l, h, p, g, n;
};

struct Options {
    bool withD = true;
    bool withInitial = false;
};

mts::SsdInputs randomInputs(const CpuSizes& s, torch::ScalarType dtype, const Options& o, uint64_t seed) {
    torch::manual_seed(static_cast<int64_t>(seed));
    const auto t = torch::TensorOptions().dtype(dtype);
    mts::SsdInputs in;
    in.x = torch::randn({s.b, s.l, s.h, s.p}, t);
    in.dt = torch::nn::functional::softplus(torch::randn({s.b, s.l, s.h}, t) - 1.0);
    in.A = -torch::rand({s.h}, t) * 3.0 - 0.1;
    in.Bm = torch::randn({s.b, s.l, s.g, s.n}, t);
    in.Cm = torch::randn({s.b, s.l, s.g, s.n}, t);
    if (o.withD) in.D = torch::randn({s.h}, t);
    if (o.withInitial) in.initialState = torch::randn({s.b, s.h, s.p, s.n}, t);
    return in;
}

std::vector<torch::Tensor*> leafSlots(mts::SsdInputs& in) {
    std::vector<torch::Tensor*> v = {&in.x, &in.dt, &in.A, &in.Bm, &in.Cm};
    if (in.D.defined()) v.push_back(&in.D);
    if (in.initialState.defined()) v.push_back(&in.initialState);
    return v;
}

// y, final state and the gradient of every input against ssdReference, relative error < tol.
void checkAgainstReference(const CpuSizes& s, int64_t chunk, const Options& o, double tol,
                           torch::ScalarType dtype = torch::kFloat64) {
    SCOPED_TRACE(testing::Message() << "chunk " << chunk << " L " << s.l << " G " << s.g << " D " << o.withD
                                    << " h0 " << o.withInitial << " isa " << mts::scan_cpu::activeIsa());
    mts::SsdInputs in = randomInputs(s, dtype, o, 31 + chunk);
    std::vector<torch::Tensor> inputs;
    for (torch::Tensor* t : leafSlots(in)) inputs.push_back(t->requires_grad_(true));
    mts::SsdOutputs ref = mts::ssdReference(in);
    mts::SsdOutputs got = mts::ssdFusedCpu(in, chunk, /*returnFinalState=*/true);
    ASSERT_EQ(got.y.sizes(), ref.y.sizes());
    ASSERT_EQ(got.finalState.sizes(), ref.finalState.sizes());
    EXPECT_LT(relDiff(got.y, ref.y), tol) << "y";
    EXPECT_LT(relDiff(got.finalState, ref.finalState), tol) << "final state";

    torch::manual_seed(5);
    const torch::Tensor gy = torch::randn_like(ref.y), gs = torch::randn_like(ref.finalState);
    const auto refGrads = torch::autograd::grad({ref.y, ref.finalState}, inputs, {gy, gs});
    const auto gotGrads = torch::autograd::grad({got.y, got.finalState}, inputs, {gy.to(got.y.scalar_type()),
                                                                                  gs.to(got.finalState.scalar_type())});
    const char* names[] = {"x", "dt", "A", "Bm", "Cm", "D/initialState", "initialState"};
    for (size_t i = 0; i < inputs.size(); ++i) {
        ASSERT_TRUE(gotGrads[i].defined()) << names[i];
        ASSERT_EQ(gotGrads[i].sizes(), inputs[i].sizes()) << names[i];
        EXPECT_LT(relDiff(gotGrads[i], refGrads[i]), tol) << "d" << names[i];
    }
}

// Runs f once per compiled ISA (avx512, avx2, generic where the CPU has them).
template <typename F>
void forEachIsa(F f) {
    for (const std::string& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        f();
    }
    mts::scan_cpu::setIsaOverride("");
}

TEST(SsdFusedCpu, EqualsSequentialWithGradientsForChunkSizes) {
    const CpuSizes s{2, 23, 4, 3, 2, 5};
    forEachIsa([&] {
        for (int64_t chunk : {1, 4, 5, 8, 23, 64}) checkAgainstReference(s, chunk, {}, 1e-10);
    });
}

TEST(SsdFusedCpu, EqualsSequentialFromAnInitialStateWithoutD) {
    forEachIsa([&] {
        checkAgainstReference({2, 19, 6, 2, 3, 4}, 7, {true, true}, 1e-10);
        checkAgainstReference({2, 19, 6, 2, 3, 4}, 16, {false, true}, 1e-10);
        checkAgainstReference({1, 21, 4, 3, 2, 5}, 8, {false, false}, 1e-10);
    });
}

TEST(SsdFusedCpu, OneGroupManyGroupsAndHeadSplits) {
    forEachIsa([&] {
        checkAgainstReference({1, 12, 4, 3, 1, 2}, 5, {}, 1e-10);        // G = 1: all heads read one B, C
        checkAgainstReference({1, 12, 4, 3, 4, 2}, 4, {true, true}, 1e-10);  // G = H
        // B * G = 1 with 8 heads: the heads of the group are split over work items.
        checkAgainstReference({1, 40, 8, 5, 1, 7}, 16, {true, true}, 1e-10);
    });
}

TEST(SsdFusedCpu, FullWidthBlocksAsTheModelUsesThem) {
    // P and N multiples of the vector width and Q = 64 (the register-blocked fast path), one
    // partial last chunk.
    forEachIsa([&] { checkAgainstReference({1, 80, 2, 64, 1, 32}, 64, {true, true}, 1e-10); });
}

TEST(SsdFusedCpu, StridedViewsOfOneProjection) {
    // x, B and C as slices of one (B, L, C) tensor, as the mixer gives them.
    const int64_t b = 2, l = 30, h = 4, p = 8, g = 2, n = 6;
    torch::manual_seed(2);
    const auto o = torch::TensorOptions().dtype(torch::kFloat64);
    const torch::Tensor xbc = torch::randn({b, l, h * p + 2 * g * n}, o);
    mts::SsdInputs in;
    in.x = xbc.narrow(-1, 0, h * p).reshape({b, l, h, p});
    in.Bm = xbc.narrow(-1, h * p, g * n).reshape({b, l, g, n});
    in.Cm = xbc.narrow(-1, h * p + g * n, g * n).reshape({b, l, g, n});
    ASSERT_FALSE(in.x.is_contiguous());
    in.dt = torch::nn::functional::softplus(torch::randn({b, l, h}, o));
    in.A = -torch::rand({h}, o) - 0.1;
    in.D = torch::randn({h}, o);
    const mts::SsdOutputs ref = mts::ssdReference(in);
    const mts::SsdOutputs got = mts::ssdFusedCpu(in, 8, true);
    EXPECT_LT(relDiff(got.y, ref.y), 1e-10);
    EXPECT_LT(relDiff(got.finalState, ref.finalState), 1e-10);
}

TEST(SsdFusedCpu, Float32CloseToTheFloat64Reference) {
    forEachIsa([&] { checkAgainstReference({2, 70, 4, 16, 1, 16}, 32, {true, true}, 2e-5, torch::kFloat32); });
}

TEST(SsdFusedCpu, Bf16StorageStaysCloseToTheReference) {
    // bf16 x, B, C (as under autocast): read as such, computed in float32, y and dx, dB, dC
    // rounded to bf16. Compared with the float64 recurrence on the same (bf16-rounded) inputs.
    mts::SsdInputs in = randomInputs({2, 70, 4, 16, 1, 16}, torch::kFloat32, {true, true}, 4);
    in.x = in.x.to(torch::kBFloat16);
    in.Bm = in.Bm.to(torch::kBFloat16);
    in.Cm = in.Cm.to(torch::kBFloat16);
    std::vector<torch::Tensor> inputs;
    for (torch::Tensor* t : leafSlots(in)) inputs.push_back(t->requires_grad_(true));
    const mts::SsdOutputs ref = mts::ssdReference(in);
    const mts::SsdOutputs got = mts::ssdFusedCpu(in, 32, true);
    EXPECT_EQ(got.y.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(got.finalState.scalar_type(), torch::kFloat32);
    EXPECT_LT(relDiff(got.y, ref.y), 1e-2);
    EXPECT_LT(relDiff(got.finalState, ref.finalState), 1e-5);
    torch::manual_seed(6);
    const torch::Tensor gy = torch::randn_like(ref.y);
    const auto refGrads = torch::autograd::grad({ref.y}, inputs, {gy});
    const auto gotGrads = torch::autograd::grad({got.y}, inputs, {gy.to(torch::kBFloat16)});
    for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_EQ(gotGrads[i].scalar_type(), inputs[i].scalar_type()) << i;
        EXPECT_LT(relDiff(gotGrads[i], refGrads[i]), 2e-2) << "gradient " << i;
    }
}

TEST(SsdFusedCpu, WithoutGradientsTheSameForward) {
    mts::SsdInputs in = randomInputs({2, 33, 4, 3, 2, 5}, torch::kFloat64, {true, true}, 8);
    const mts::SsdOutputs ref = mts::ssdReference(in);
    torch::NoGradGuard noGrad;
    const mts::SsdOutputs got = mts::ssdFusedCpu(in, 8, true);
    EXPECT_LT(relDiff(got.y, ref.y), 1e-10);
    EXPECT_LT(relDiff(got.finalState, ref.finalState), 1e-10);
}

TEST(SsdFusedCpu, BadShapesAreRefused) {
    mts::SsdInputs in = randomInputs({1, 8, 4, 2, 2, 3}, torch::kFloat32, {}, 1);
    in.Bm = torch::randn({1, 8, 3, 3});
    EXPECT_THROW(mts::ssdFusedCpu(in, 4), std::invalid_argument);
    in = randomInputs({1, 8, 4, 2, 2, 3}, torch::kFloat32, {}, 1);
    EXPECT_THROW(mts::ssdFusedCpu(in, 0), std::invalid_argument);
}

TEST(SsdFusedCpu, MatchesThePythonMinimalSsdFixture) {
    const std::vector<mts::test::SsdFixtureCase> cases = mts::test::loadSsdMinimalFixture();
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        for (int64_t chunk : {c.blockLen, int64_t{5}}) {
            mts::SsdOutputs got = mts::ssdFusedCpu(c.in, chunk, true);
            EXPECT_LT(maxDiff(got.y, c.y), 1e-9) << c.name << " chunk " << chunk;
            EXPECT_LT(maxDiff(got.finalState, c.finalState), 1e-9) << c.name << " chunk " << chunk;
        }
    }
}

}  // namespace

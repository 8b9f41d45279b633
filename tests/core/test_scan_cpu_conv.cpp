// The fused causal depthwise conv1d + SiLU against the plain tensor-op formula (the mixer's
// original), outputs and gradients in double, with and without bias / SiLU / left context.
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/causal_conv.h"
#include "mts/core/kernels/scan_cpu.h"
#include "tensor_checks.h"

using mts::test::relErr;

namespace {

using torch::Tensor;

Tensor oracle(const Tensor& x, const Tensor& w, const Tensor& bias, bool silu, const Tensor& left) {
    const int64_t B = x.size(0), L = x.size(1), D = x.size(2), K = w.size(-1);
    Tensor l = left.defined() ? left : torch::zeros({B, K - 1, D}, x.options());
    Tensor xpad = torch::cat({l, x}, 1);  // (B, L+K-1, D)
    Tensor w2 = w.reshape({D, K});
    Tensor y = xpad.narrow(1, 0, L) * w2.select(1, 0);
    for (int64_t j = 1; j < K; ++j) y = y + xpad.narrow(1, j, L) * w2.select(1, j);
    if (bias.defined()) y = y + bias;
    return silu ? torch::silu(y) : y;
}

struct CpuConvCase {
    int64_t B, L, D, K;
    bool bias, silu, left;
};

TEST(CausalConvCpu, MatchesOracleWithGradientsInDouble) {
    const std::vector<CpuConvCase> cases = {{2, 9, 37, 4, true, true, false}, {1, 3, 16, 4, true, true, true},
                                     {3, 20, 5, 3, false, true, false}, {2, 11, 33, 4, true, false, true},
                                     {1, 1, 8, 4, true, true, false},   {2, 7, 20, 1, true, true, false}};
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        for (const auto& c : cases) {
            torch::manual_seed(c.B * 100 + c.L * 10 + c.D);
            auto o = torch::TensorOptions().dtype(torch::kFloat64);
            // x as a slice of a wider tensor, like the in_proj output.
            Tensor xz = torch::randn({c.B, c.L, 2 * c.D}, o).requires_grad_(true);
            Tensor x = xz.narrow(2, 0, c.D);
            Tensor w = torch::randn({c.D, 1, c.K}, o).requires_grad_(true);
            Tensor b = c.bias ? torch::randn({c.D}, o).requires_grad_(true) : Tensor();
            Tensor left = c.left ? torch::randn({c.B, c.K - 1, c.D}, o) : Tensor();
            Tensor gy = torch::randn({c.B, c.L, c.D}, o);
            std::vector<Tensor> leaves = {xz, w};
            if (c.bias) leaves.push_back(b);
            Tensor ref = oracle(x, w, b, c.silu, left);
            auto refG = torch::autograd::grad({ref}, leaves, {gy});
            Tensor got = mts::causalConv1dSilu(x, w, b, c.silu, left);
            auto gotG = torch::autograd::grad({got}, leaves, {gy});
            EXPECT_LE(relErr(got, ref), 1e-12) << isa << " K" << c.K << " D" << c.D;
            for (size_t i = 0; i < leaves.size(); ++i)
                EXPECT_LE(relErr(gotG[i], refG[i]), 1e-12) << isa << " grad " << i << " K" << c.K << " D" << c.D;
        }
    }
    mts::scan_cpu::setIsaOverride("");
}

TEST(CausalConvCpu, FloatAndNoGradMatch) {
    torch::manual_seed(1);
    Tensor x = torch::randn({2, 30, 40});
    Tensor w = torch::randn({40, 1, 4});
    Tensor b = torch::randn({40});
    Tensor got;
    {
        torch::NoGradGuard ng;
        got = mts::causalConv1dSilu(x, w, b);
    }
    EXPECT_LE(relErr(got, oracle(x, w, b, true, Tensor())), 1e-6);
}

// bf16 x (a slice of the bf16 in_proj output under autocast) is read as bf16 and y / dx
// written as bf16, computed in fp32: the fp32 kernel's result on the widened input, rounded
// once. The weight and bias gradients stay fp32.
TEST(CausalConvCpu, Bf16ActivationsAreReadAndWrittenAsBf16) {
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        torch::manual_seed(3);
        const int64_t B = 2, L = 13, D = 37, K = 4;
        Tensor xzLo = torch::randn({B, L, 2 * D}).to(torch::kBFloat16).requires_grad_(true);
        Tensor xzHi = xzLo.detach().to(torch::kFloat32).requires_grad_(true);
        Tensor w = torch::randn({D, 1, K}).requires_grad_(true);
        Tensor b = torch::randn({D}).requires_grad_(true);
        Tensor got = mts::causalConv1dSilu(xzLo.narrow(2, D, D), w, b);
        ASSERT_EQ(got.scalar_type(), torch::kBFloat16) << isa;
        Tensor ref = mts::causalConv1dSilu(xzHi.narrow(2, D, D), w, b);
        EXPECT_TRUE(torch::equal(got, ref.to(torch::kBFloat16))) << isa;
        Tensor gy = torch::randn({B, L, D}).to(torch::kBFloat16);
        auto gGot = torch::autograd::grad({got}, {xzLo, w, b}, {gy});
        auto gRef = torch::autograd::grad({ref}, {xzHi, w, b}, {gy.to(torch::kFloat32)});
        EXPECT_EQ(gGot[0].scalar_type(), torch::kBFloat16) << isa;
        EXPECT_TRUE(torch::equal(gGot[0], gRef[0].to(torch::kBFloat16))) << isa;
        EXPECT_EQ(gGot[1].scalar_type(), torch::kFloat32) << isa;
        EXPECT_LE(relErr(gGot[1], gRef[1]), 1e-6) << isa;
        EXPECT_LE(relErr(gGot[2], gRef[2]), 1e-6) << isa;
    }
    mts::scan_cpu::setIsaOverride("");
}

TEST(CausalConvCpu, BadShapesThrow) {
    Tensor x = torch::randn({2, 5, 8});
    EXPECT_THROW(mts::causalConv1dSilu(x, torch::randn({7, 1, 4}), Tensor()), c10::Error);
    EXPECT_THROW(mts::causalConv1dSilu(x, torch::randn({8, 1, 4}), torch::randn({5})), c10::Error);
    EXPECT_THROW(mts::causalConv1dSilu(x, torch::randn({8, 1, 4}), Tensor(), true, torch::randn({2, 2, 8})),
                 c10::Error);
    EXPECT_THROW(mts::causalConv1dSilu(torch::randn({5, 8}), torch::randn({8, 1, 4}), Tensor()), c10::Error);
}

}  // namespace

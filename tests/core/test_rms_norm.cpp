// The fused RMSNorm (one pass each way on the CPU) against the tensor-op formula computed in
// double: values and both gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/rms_norm.h"

namespace {

double maxRelErr(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor ad = a.to(torch::kFloat64), bd = b.to(torch::kFloat64);
    return ((ad - bd).abs().max() / bd.abs().max().clamp_min(1e-30)).item<double>();
}

TEST(RmsNorm, FusedMatchesFormulaForwardAndBackward) {
    torch::manual_seed(3);
    // Odd widths exercise the dot product's tail; 1 row and many rows the task split.
    for (auto shape : std::vector<std::vector<int64_t>>{{2, 7, 256}, {1, 1, 13}, {3, 50, 40}, {4, 33}}) {
        const int64_t dim = shape.back();
        const torch::Tensor x0 = torch::randn(shape) * 3.0 + 0.5;
        const torch::Tensor w0 = torch::randn({dim}) * 0.5 + 1.0;
        const torch::Tensor gy = torch::randn(shape);

        torch::Tensor x = x0.clone().set_requires_grad(true), w = w0.clone().set_requires_grad(true);
        const torch::Tensor y = mts::rmsNorm(x, w, 1e-5);
        ASSERT_EQ(y.scalar_type(), torch::kFloat32);
        ASSERT_EQ(y.sizes(), x.sizes());
        y.backward(gy);

        torch::Tensor xd = x0.to(torch::kFloat64).set_requires_grad(true);
        torch::Tensor wd = w0.to(torch::kFloat64).set_requires_grad(true);
        const torch::Tensor yd = mts::rmsNormReference(xd, wd, 1e-5);
        yd.backward(gy.to(torch::kFloat64));

        EXPECT_LT(maxRelErr(y, yd), 2e-6) << shape;
        EXPECT_LT(maxRelErr(x.grad(), xd.grad()), 2e-5) << shape;
        EXPECT_LT(maxRelErr(w.grad(), wd.grad()), 2e-5) << shape;
    }
}

TEST(RmsNorm, NonContiguousInputAndOtherDtypesUseTheirPaths) {
    torch::manual_seed(4);
    const torch::Tensor big = torch::randn({5, 64});
    const torch::Tensor x = big.narrow(1, 8, 32);  // rows 64 apart: made contiguous first
    const torch::Tensor w = torch::rand({32}) + 0.5;
    EXPECT_LT(maxRelErr(mts::rmsNorm(x, w, 1e-6), mts::rmsNormReference(x.to(torch::kFloat64), w.to(torch::kFloat64), 1e-6)),
              2e-6);
    // bf16 input: computed in float32 by the formula, returned as bf16 times the weight.
    const torch::Tensor xb = x.to(torch::kBFloat16);
    const torch::Tensor yb = mts::rmsNorm(xb, w, 1e-6);
    EXPECT_TRUE(yb.isfinite().all().item<bool>());
    EXPECT_LT(maxRelErr(yb, mts::rmsNormReference(xb, w, 1e-6)), 1e-6);
}

// bf16 output (under autocast): the float32 result rounded once, and a bf16 gradient read as it
// comes, giving the float32 path's gradients for the same (bf16-valued) dy.
TEST(RmsNorm, Bf16OutputIsTheFloatResultRoundedAndTakesABf16Gradient) {
    torch::manual_seed(5);
    for (auto shape : std::vector<std::vector<int64_t>>{{2, 7, 256}, {3, 50, 40}}) {
        const int64_t dim = shape.back();
        const torch::Tensor x0 = torch::randn(shape) * 2.0;
        const torch::Tensor w0 = torch::randn({dim}) * 0.5 + 1.0;
        const torch::Tensor gy = torch::randn(shape).to(torch::kBFloat16);
        torch::Tensor x = x0.clone().set_requires_grad(true), w = w0.clone().set_requires_grad(true);
        const torch::Tensor y = mts::rmsNorm(x, w, 1e-5, /*bf16Out=*/true);
        ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
        y.backward(gy);
        torch::Tensor xf = x0.clone().set_requires_grad(true), wf = w0.clone().set_requires_grad(true);
        const torch::Tensor yf = mts::rmsNorm(xf, wf, 1e-5);
        yf.backward(gy.to(torch::kFloat32));
        EXPECT_TRUE(torch::equal(y, yf.to(torch::kBFloat16))) << shape;
        EXPECT_EQ(x.grad().scalar_type(), torch::kFloat32);
        EXPECT_LT(maxRelErr(x.grad(), xf.grad()), 1e-6) << shape;
        EXPECT_LT(maxRelErr(w.grad(), wf.grad()), 1e-6) << shape;
    }
}

TEST(RmsNorm, RejectsAWeightOfTheWrongSize) {
    EXPECT_THROW(mts::rmsNorm(torch::randn({2, 8}), torch::ones({7}), 1e-5), c10::Error);
    EXPECT_THROW(mts::rmsNorm(torch::randn({2, 8}), torch::ones({2, 8}), 1e-5), c10::Error);
}

}  // namespace

// The fused gated RMSNorm (kernels/gated_rms_norm.h) against its tensor-op formula in float64
// (output and the gradients of y, z and weight), one and several groups, a strided z (a slice
// of the projection, as the Mamba-2 mixer passes it), every compiled ISA; bf16 in and out.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/gated_rms_norm.h"
#include "mts/core/kernels/scan_cpu.h"
#include "tensor_checks.h"

using mts::test::relDiff;

namespace {

void checkAgainstReference(int64_t rows, int64_t dim, int64_t groups) {
    SCOPED_TRACE(testing::Message() << "dim " << dim << " groups " << groups << " isa "
                                    << mts::scan_cpu::activeIsa());
    torch::manual_seed(dim + groups);
    const auto o = torch::TensorOptions().dtype(torch::kFloat64);
    const torch::Tensor proj = torch::randn({2, rows, 2 * dim + 3}, o);
    const torch::Tensor y = torch::randn({2, rows, dim}, o).requires_grad_(true);
    const torch::Tensor zLeaf = proj.clone().requires_grad_(true);
    const torch::Tensor z = zLeaf.narrow(-1, 1, dim);  // strided view
    const torch::Tensor w = (torch::rand({dim}, o) + 0.5).requires_grad_(true);
    const torch::Tensor ref = mts::gatedRmsNormReference(y, z, w, groups, 1e-5);
    const torch::Tensor got = mts::gatedRmsNorm(y, z, w, groups, 1e-5);
    ASSERT_EQ(got.sizes(), ref.sizes());
    EXPECT_EQ(got.scalar_type(), torch::kFloat64);
    EXPECT_LT(relDiff(got, ref), 1e-12);
    const torch::Tensor gout = torch::randn_like(ref);
    const auto rg = torch::autograd::grad({ref}, {y, zLeaf, w}, {gout});
    const auto gg = torch::autograd::grad({got}, {y, zLeaf, w}, {gout});
    const char* names[] = {"y", "z", "weight"};
    for (size_t i = 0; i < 3; ++i) EXPECT_LT(relDiff(gg[i], rg[i]), 1e-12) << "d" << names[i];
}

TEST(GatedRmsNorm, FusedEqualsTheFormulaWithGradients) {
    for (const std::string& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        checkAgainstReference(7, 64, 1);
        checkAgainstReference(5, 24, 3);  // groups of 8 channels
        checkAgainstReference(3, 13, 1);  // tail lanes
    }
    mts::scan_cpu::setIsaOverride("");
}

TEST(GatedRmsNorm, Bf16InAndOut) {
    torch::manual_seed(3);
    const torch::Tensor y = torch::randn({4, 9, 64}).to(torch::kBFloat16).requires_grad_(true);
    const torch::Tensor z = torch::randn({4, 9, 64}).to(torch::kBFloat16).requires_grad_(true);
    const torch::Tensor w = (torch::rand({64}) + 0.5).requires_grad_(true);
    const torch::Tensor got = mts::gatedRmsNorm(y, z, w, 2, 1e-5);
    EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
    const torch::Tensor ref = mts::gatedRmsNormReference(y.to(torch::kFloat64), z.to(torch::kFloat64),
                                                         w.to(torch::kFloat64), 2, 1e-5);
    EXPECT_LT(relDiff(got, ref), 1e-2);
    got.sum().backward();
    EXPECT_EQ(y.grad().scalar_type(), torch::kBFloat16);
    EXPECT_EQ(z.grad().scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::isfinite(z.grad().to(torch::kFloat32)).all().item<bool>());
}

TEST(GatedRmsNorm, BadShapesAreRefused) {
    const torch::Tensor y = torch::randn({2, 12});
    EXPECT_THROW(mts::gatedRmsNorm(y, torch::randn({2, 11}), torch::ones({12}), 1, 1e-5), std::invalid_argument);
    EXPECT_THROW(mts::gatedRmsNorm(y, y, torch::ones({12}), 5, 1e-5), std::invalid_argument);
}

}  // namespace

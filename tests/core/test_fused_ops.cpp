// splitLastDim: narrow's views forward, one concatenation backward (unused parts as zeros).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/fused_ops.h"

namespace {

TEST(FusedOps, SplitLastDimGradientIsTheConcatenation) {
    torch::manual_seed(22);
    auto x = torch::randn({2, 5, 9}, torch::kFloat64).set_requires_grad(true);
    auto parts = mts::splitLastDim(x, {2, 3, 4});
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(torch::equal(parts[1], x.detach().narrow(-1, 2, 3)));
    const auto g0 = torch::randn({2, 5, 2}, torch::kFloat64), g2 = torch::randn({2, 5, 4}, torch::kFloat64);
    ((parts[0] * g0).sum() + (parts[2] * g2).sum()).backward();  // the middle part unused
    const auto expected = torch::cat({g0, torch::zeros({2, 5, 3}, torch::kFloat64), g2}, -1);
    EXPECT_TRUE(torch::equal(x.grad(), expected));
}

}  // namespace

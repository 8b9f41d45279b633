#pragma once
// Tensor comparisons the numeric tests share (header-only). Both sides are compared in float64
// on the CPU, whatever their dtype and device.
#include <algorithm>

#include <torch/torch.h>

namespace mts::test {

/// max |a - b|.
inline double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.detach().to(torch::kFloat64).cpu() - b.detach().to(torch::kFloat64).cpu()).abs().max().item<double>();
}

/// max |a - b| / max |b|: the error relative to the reference b's scale.
inline double relErr(const torch::Tensor& a, const torch::Tensor& b) {
    const double scale = b.detach().to(torch::kFloat64).abs().max().item<double>();
    return maxDiff(a, b) / std::max(scale, 1e-30);
}

/// max |got - ref| / max(1, max |ref|): relative for large values, absolute below 1.
inline double relDiff(const torch::Tensor& got, const torch::Tensor& ref) {
    return maxDiff(got, ref) / std::max(1.0, ref.detach().to(torch::kFloat64).abs().max().item<double>());
}

}  // namespace mts::test

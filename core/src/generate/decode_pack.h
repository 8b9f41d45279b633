#pragma once
// Tensor -> raw-vector helpers shared by the decode blocks and InferenceModel: parameters are
// copied once, at packing time, to the CPU in fp32.
#include <vector>

#include <torch/torch.h>

#include "mts/core/kernels/decode_cpu.h"

namespace mts::detail {

/// t's values as fp32 in row-major order; empty when t is undefined (an absent bias).
inline std::vector<float> toFloatVector(const torch::Tensor& t) {
    if (!t.defined()) return {};
    const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

/// A (rows, cols) weight matrix packed in `type` (decode::packMatrix).
inline decode::PackedMatrix packWeight(const torch::Tensor& w, decode::WeightType type) {
    const torch::Tensor c = w.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    return decode::packMatrix(c.data_ptr<float>(), c.size(0), c.size(1), type);
}

}  // namespace mts::detail

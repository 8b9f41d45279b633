#pragma once
// RMSNorm as one autograd function: y = weight * x / sqrt(mean(x^2) + eps) over the last
// dimension. Written with tensor ops it is ~6 elementwise passes forward and ~10 backward over
// the residual stream, per block; fused it is one pass each way (CPU, float32), with the
// per-row 1/rms saved for backward.
#include <torch/torch.h>

namespace mts {

/// x: (..., dim), weight: (dim). Computed in float32 and returned in x's dtype (the Hugging
/// Face Mamba convention), or in bfloat16 when bf16Out (under bf16 autocast, where the next
/// op is a linear that would cast it: the fused kernel writes bf16 directly and reads a bf16
/// gradient, sparing two conversion passes). float32 CPU input takes the fused kernel; anything
/// else (other dtypes, CUDA) the tensor-op formula. Differentiable w.r.t. x and weight.
torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool bf16Out = false);

/// The tensor-op formula (the reference the kernel is tested against).
torch::Tensor rmsNormReference(const torch::Tensor& x, const torch::Tensor& weight, double eps);

}  // namespace mts

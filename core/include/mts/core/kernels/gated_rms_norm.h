#pragma once
// Mamba-2's gated RMSNorm (mamba_ssm RMSNormGated, norm_before_gate = False) as one autograd
// function: per group of dim / groups channels, g = y * silu(z), out = g / sqrt(mean(g^2) +
// eps) * weight. In tensor ops it is ~8 passes over (B, L, D_inner) forward and more backward;
// fused on the CPU it is one pass each way, with the per-row-group 1/rms saved for backward.
#include <cstdint>

#include <torch/torch.h>

namespace mts {

/// y, z: (..., dim) (any strides, last dim contiguous or not), weight: (dim), groups dividing
/// dim. CPU tensors take the fused kernel: computed in float32 (float64 when weight is
/// float64); when y and z are both bfloat16 (autocast) they are read as such and the result and
/// the gradients of y and z are bfloat16, otherwise the result is in the compute type. Other
/// devices: gatedRmsNormReference. Differentiable w.r.t. y, z and weight. Thread-safe.
/// Throws std::invalid_argument on mismatched shapes or groups not dividing dim.
torch::Tensor gatedRmsNorm(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight,
                           int64_t groups, double eps);

/// The tensor-op formula, in the compute type above (the reference the kernel is tested against).
torch::Tensor gatedRmsNormReference(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight,
                                    int64_t groups, double eps);

}  // namespace mts

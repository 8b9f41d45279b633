#pragma once
// Fused causal depthwise conv1d + SiLU in the token-major layout of the Mamba mixer (CPU):
// one pass forward, one pass backward (the pre-activation is recomputed, not stored), instead
// of the ~10 elementwise tensor ops of a conv written with narrow/mul/add/silu.
//
//   y[b, t, d] = act(bias[d] + sum_j weight[d, j] * x[b, t - K + 1 + j, d])
//   x[b, s < 0, d] = left[b, K - 1 + s, d] if left is given, else 0
#include <torch/torch.h>

namespace mts {

/// x: (B, L, D) float32/float64, or bfloat16 (read and returned as bfloat16, computed in
/// float32; other types are computed and returned in float32), any batch/time strides
/// (a slice of in_proj's output needs no copy); weight: (D, K) or (D, 1, K) (nn::Conv1d's
/// depthwise layout); bias: (D) or undefined; left: (B, K-1, D) previous inputs or undefined
/// (zeros); silu: apply SiLU, else identity. Returns (B, L, D) contiguous.
/// Differentiable w.r.t. x, weight and bias (not left); x's gradient has x's dtype, those of
/// weight and bias the compute type. CPU tensors, or CUDA tensors when the build has the CUDA
/// kernels (kernels/cuda/, K <= 4; float16 x is read and returned as such there too); throws
/// c10::Error on shape mismatch or K > 16, std::invalid_argument for CUDA tensors in a build
/// without CUDA. Thread-safe; parallel over (batch x tiles of time steps).
torch::Tensor causalConv1dSilu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               bool silu = true, const torch::Tensor& left = {});

/// Whether causalConv1dSilu has a fused kernel for tensors on `device` with kernel width `width`
/// (the CPU: width <= 16; CUDA: width <= 4 in a build with the CUDA kernels).
bool causalConvFused(const torch::Device& device, int64_t width);

}  // namespace mts

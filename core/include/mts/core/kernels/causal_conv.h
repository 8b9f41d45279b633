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
/// weight and bias the compute type. CPU tensors only; throws c10::Error on shape mismatch or
/// K > 16. Thread-safe; parallel over (batch x tiles of time steps).
torch::Tensor causalConv1dSilu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               bool silu = true, const torch::Tensor& left = {});

}  // namespace mts

#pragma once
// LibTorch entry points of the fused CUDA kernels (ScanBackend::Cuda and the CUDA path of
// causalConv1dSilu). Defined by kernels_cuda.cpp when the LibTorch has CUDA (cmake/MtsCuda.cmake),
// else by cuda_absent.cpp, whose entry points throw "built without CUDA". Private to mts_core.
#include <cstdint>

#include <torch/torch.h>

#include "kernels/cuda/scan_cuda_math.cuh"  // kMaxChunk, kMaxState, kConvMaxWidth (plain C++)
#include "mts/core/kernels/selective_scan.h"

namespace mts::scan_cuda {

/// True when this build contains the CUDA kernels (not whether a GPU is present).
bool kernelsCompiled();

/// Largest d_state the CUDA scan takes; Auto falls back to the chunked scan above it.
int64_t maxState();

/// The fused CUDA selective scan (semantics and shapes of selective_scan.h). All tensors on one
/// CUDA device. When u, delta and z are all bfloat16 (or all float16) they are read and y and
/// their gradients written in that type; float64 inputs compute in float64 (gradient checks);
/// anything else computes in float32. State, arithmetic and the other gradients are fp32 (fp64).
/// Differentiable w.r.t. every input incl. initialState. Runs on the current CUDA stream.
/// Throws c10::Error on bad shapes, a non-CUDA tensor or d_state > maxState(), and
/// std::invalid_argument when the build has no CUDA.
ScanOutputs selectiveScan(const ScanInputs& in, bool returnLastState);

/// causalConv1dSilu (causal_conv.h) for CUDA tensors: kernel width <= 4; x bfloat16 / float16 is
/// read and returned as such, float64 computes in float64, else float32.
torch::Tensor causalConv1dSilu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               bool silu, const torch::Tensor& left);

}  // namespace mts::scan_cuda

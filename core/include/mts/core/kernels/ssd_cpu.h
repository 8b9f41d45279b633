#pragma once
// The fused CPU SSD (Mamba-2's state-space dual): the same computation as ssdChunked (ssd.h),
// forward and backward as hand-written kernels instead of ~20 LibTorch passes.
//
// Kernel design (core/src/kernels/ssd_cpu_kernel.h): one work item = (batch row, group, split
// of the group's heads), run by at::parallel_for. It walks the chunks of Q tokens in order and,
// within a chunk, computes C B^T (Q x Q, once for the group's heads), then per head the decay
// exp(acs_i - acs_j) on the fly, y = exp(acs) C S + (C B^T * decay) (x dt) + D x, and the state
// at the chunk end, carried to the next chunk in the same work item (the state is kept as
// (N, P)). Only the state entering each chunk is written (for the backward): (B, H, chunks, N,
// P) in float32. The backward walks the chunks in reverse, recomputes each chunk's products from
// its saved state and carries the state gradient. The small products are register-blocked
// loops over L1/L2-sized buffers, compiled for AVX-512 / AVX2 / generic and chosen as the
// fused scan's (scan_cpu::activeIsa()). Arithmetic is float32 (float64 for float64 inputs).
#include <cstdint>

#include "mts/core/kernels/ssd.h"

namespace mts {

/// The SSD of ssd.h on CPU tensors, fused. Same inputs, shapes and results as ssdChunked
/// (`chunkSize` only changes rounding and the memory kept for the backward: B*H*ceil(L/Q)*N*P
/// floats). x, Bm and Cm may be strided views with a contiguous last dim (the mixer's slices
/// of the conv output). When x, Bm and Cm are all bfloat16 they are read as such, and y and
/// their gradients are bfloat16 (rounded to nearest even); otherwise they are converted to
/// float32 (float64 when x is float64) and y is in that type. dt, A, D, the states and their
/// gradients are float32 (float64). Differentiable w.r.t. x, dt, A, Bm, Cm, D and
/// initialState. Thread-safe; parallel over (batch, group, head split) with at::parallel_for.
/// Throws std::invalid_argument on bad shapes or chunkSize < 1 (as ssdChunked) and c10::Error
/// on a non-CPU tensor.
SsdOutputs ssdFusedCpu(const SsdInputs& in, int64_t chunkSize, bool returnFinalState = false);

namespace ssd_cpu {
/// Wall time spent inside the fused SSD since the last reset (summed over calls, measured on
/// the calling thread), for the training benchmark's breakdown.
struct SsdTimes {
    double forwardSeconds = 0;
    double backwardSeconds = 0;
    int64_t forwardCalls = 0;
    int64_t backwardCalls = 0;
};
SsdTimes ssdTimes();
void resetSsdTimes();
}  // namespace ssd_cpu

}  // namespace mts

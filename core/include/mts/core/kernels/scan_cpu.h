#pragma once
// Fused selective scan on the CPU: the LibTorch entry point behind ScanBackend::FusedCpu,
// plus the ISA controls and vector math the tests and benchmarks use. Shapes and semantics
// are those of mts/core/selective_scan.h.
//
// Kernel design (scan_cpu_kernel.h): W = SIMD lanes (16 floats with AVX-512) channels form a
// block. Forward: one task = (sequence b, block); the N states of the block are carried
// across the whole time loop; token-major layout makes the W channels of a time step one
// contiguous load, and rows are prefetched a few steps ahead (each is on another page). Steps
// run in groups of 16: the per-step values (softplus(dt), dt*u, the SiLU gate) are computed
// for the group first, as independent work, so their exp/log/division latency does not stall
// the state updates that all wait on dt. Decays are 2^(dt * A log2 e) (vexp2). Forward saves
// the state every `chunk` steps (B, L/chunk, N, D), with streaming stores. Backward: one task =
// (sequence b, group of blocks; one group unless sequences are fewer than threads); it walks
// chunks last to first and, within a chunk, the group's blocks: per-step values and the
// output gradient first, then the block's states recomputed from the saved one into an
// L1-sized buffer (dC's partial sums taken there), then the reverse recurrence, 8 state
// indices at a time so its carried gradients stay in registers. No (B, L, D, N) tensor is ever
// formed. dB/dC (reduced over channels) are accumulated as W-lane vectors per chunk, summed
// over lanes once per chunk and added under a mutex; dA, dD, dbias are written per sequence
// and summed by the caller. Under bf16 autocast the (B, L, D) activations and their gradients
// (u, delta, z, y, du, ddelta, dz) are loaded and stored as bf16 (widened exactly, rounded to
// nearest even), so no conversion pass runs around the kernel; all arithmetic and the
// states are fp32.
//
// Threading: the kernels are re-entrant; the entry point parallelises with at::parallel_for.
#include <cstdint>
#include <string>
#include <vector>

#include "mts/core/kernels/selective_scan.h"

namespace mts {

/// The fused CPU scan (ScanBackend::FusedCpu). Computes in float32 (or float64, used by the
/// gradient tests). When u, delta and z are all bfloat16 they are read as such and y (and their
/// gradients) are bfloat16, rounded to nearest even; otherwise inputs are converted to float32
/// and y is float32. The other inputs and gradients are always in the compute type.
/// Differentiable w.r.t. u, delta, A, Bm, Cm, Dskip, z, deltaBias and initialState.
/// Throws c10::Error on a non-CPU tensor or mismatched shapes.
ScanOutputs selectiveScanFusedCpu(const ScanInputs& in, bool returnLastState = false);

namespace scan_cpu {

/// Instruction sets compiled in and supported by this CPU, best first ("avx512", "avx2",
/// "generic"). "generic" is always present.
std::vector<std::string> availableIsas();

/// Test hook: force an ISA for subsequent scans ("" = best available). Not thread-safe
/// against concurrent scans; throws std::invalid_argument for an unavailable ISA.
void setIsaOverride(const std::string& isa);
/// The ISA scans use now.
std::string activeIsa();

/// Steps between saved states in forward (memory B*L/chunk*D*N vs recompute buffer size).
constexpr int64_t kDefaultChunk = 16;
/// Largest d_state the kernel takes (the register/stack buffers are sized by it).
constexpr int64_t kMaxState = 256;

/// The vector exp's measured maximum relative error (tests/core/test_vec_exp.cpp asserts it
/// over a dense grid of [-87.3, 88.37]): float 4e-7 (~3 ulp), double 1e-15. Float inputs
/// below -87.33 give a value under the smallest normal float (the scaled subnormal with
/// AVX-512, 0 on the other paths), exactly 0 from -104 down; above 88.37 the result
/// saturates at e^88.37. NaN stays NaN.
constexpr double kVecExpMaxRelErrorF32 = 4e-7;
constexpr double kVecExpMaxRelErrorF64 = 1e-15;

/// Wall time spent inside the fused kernels since the last reset (all threads' calls summed
/// by wall clock of the calling thread), for the training benchmark's step breakdown.
struct ScanTimes {
    double forwardSeconds = 0;
    double backwardSeconds = 0;
    int64_t forwardCalls = 0;
    int64_t backwardCalls = 0;
};
ScanTimes scanTimes();
void resetScanTimes();

/// Vector exp / log1p (y in [0, 1]) / softplus over arrays with the active ISA (for tests and
/// the benchmark; the kernels inline the same code).
void vecExp(const float* x, float* y, int64_t n);
void vecExp(const double* x, double* y, int64_t n);
void vecLog1p01(const float* x, float* y, int64_t n);
void vecSoftplus(const float* x, float* y, int64_t n);
/// 2^x, the form the scan computes its decays in (e^(dt A) = 2^(dt A log2 e), A log2 e
/// precomputed): the same error bounds as vecExp for 2^x on [-126, 127.49]; below, a subnormal
/// or 0 (exactly 0 from -150 down); saturates above at 2^127.49; NaN stays NaN.
void vecExp2(const float* x, float* y, int64_t n);
void vecExp2(const double* x, double* y, int64_t n);
/// softplus(x) and sigmoid(x) (its derivative) from one exponential, as the backward uses them.
void vecSoftplusSigmoid(const float* x, float* softplus, float* sigmoid, int64_t n);
/// float -> bfloat16 bits and back, as the kernels store and load bf16 activations: rounding
/// to nearest even, NaN to a quiet NaN (c10::BFloat16's conversion); widening is exact.
void vecToBf16(const float* x, uint16_t* y, int64_t n);
void vecFromBf16(const uint16_t* x, float* y, int64_t n);

}  // namespace scan_cpu
}  // namespace mts

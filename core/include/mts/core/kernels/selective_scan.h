#pragma once
// The selective scan of Mamba-1 (S6), with discretisation, D skip and SiLU(z) gate fused:
//
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t        h: (D_inner, N) per sequence
//   y_t = <h_t, C_t> + D * u_t;   y_t *= silu(z_t) if z given
//   delta_t = softplus(delta_raw_t + delta_bias) if softplus else delta_raw_t + delta_bias
//
// Layout is token-major (what the projections produce, no transposes):
//   u, delta, z: (B, L, D_inner)   A: (D_inner, N)   Bm, Cm: (B, L, N)   Dskip, deltaBias: (D_inner)
//   returns y: (B, L, D_inner); lastState (optional): (B, D_inner, N)
// The scan computes in float32 (float64 for gradient checks). The fused CPU backend reads
// bfloat16 u, delta and z as they are (autocast's activations) and then returns y and their
// gradients in bfloat16; the other backends widen them to float32. Differentiable with
// respect to u, delta, A, Bm, Cm, Dskip, z, deltaBias.
#include <optional>
#include <string>

#include <torch/torch.h>

#include "mts/core/kernels/scan_backend_name.h"

namespace mts {

enum class ScanBackend {
    Auto,       // best available for the tensors' device
    Reference,  // plain sequential LibTorch ops: obviously correct, slow; the test oracle
    FusedCpu,   // our fused C++ kernel with recomputing backward
    Cuda,       // our CUDA kernel (when built with CUDA)
    Chunked,    // chunked parallel scan in tensor ops (CUDA fallback)
};

std::string toString(ScanBackend b);

struct ScanInputs {
    torch::Tensor u, delta, A, Bm, Cm;
    torch::Tensor Dskip;       // optional (undefined = no skip)
    torch::Tensor z;           // optional (undefined = no gate)
    torch::Tensor deltaBias;   // optional
    bool deltaSoftplus = true;
    torch::Tensor initialState;  // optional (B, D_inner, N), not differentiated
};

struct ScanOutputs {
    torch::Tensor y;          // (B, L, D_inner)
    torch::Tensor lastState;  // (B, D_inner, N), only when requested
};

/// Runs the scan with the chosen backend (Auto picks per device). Thread-safe.
ScanOutputs selectiveScan(const ScanInputs& in, bool returnLastState = false,
                          ScanBackend backend = ScanBackend::Auto);

/// The plain reference implementation (sequential loop of tensor ops, autograd through it).
ScanOutputs selectiveScanReference(const ScanInputs& in, bool returnLastState = false);

/// The chunked parallel scan in tensor ops (ScanBackend::Chunked), for devices without a fused
/// kernel of ours: per chunk of `chunk` tokens, ceil(log2 chunk) doubling steps over (B, chunk,
/// D, N) tensors, the state carried from chunk to chunk; autograd does the backward (memory
/// about 2 log2(chunk) such tensors per chunk). float32, or float64 for gradient checks; other
/// floating inputs are computed in float32. Differentiable w.r.t. every input incl. initialState.
ScanOutputs selectiveScanChunked(const ScanInputs& in, bool returnLastState = false, int64_t chunk = 32);

/// The backend Auto resolves to for a device ("fused CPU", "CUDA kernel", "reference", ...).
ScanBackend resolveScanBackend(const torch::Device& device);

/// Test hook: make Auto resolve to `backend` on every device (ScanBackend::Auto restores the
/// per-device choice). Process-wide; not to be changed while scans run.
void setAutoScanBackendOverride(ScanBackend backend);

/// What runs the scan on a device, for logs and the UI: "fused CPU (avx512)", "chunked
/// (tensor ops)", ...
std::string describeScanBackend(const torch::Device& device);

}  // namespace mts

#include "mts/core/kernels/selective_scan.h"

#include <atomic>
#include <stdexcept>

#include "kernels/cuda/kernels_cuda.h"
#include "mts/core/kernels/scan_cpu.h"

namespace mts {

std::string toString(ScanBackend b) {
    switch (b) {
        case ScanBackend::Auto: return "auto";
        case ScanBackend::Reference: return "reference";
        case ScanBackend::FusedCpu: return "fused CPU";
        case ScanBackend::Cuda: return "CUDA kernel";
        case ScanBackend::Chunked: return "chunked";
    }
    return "unknown";
}

namespace {
std::atomic<int> g_autoOverride{int(ScanBackend::Auto)};
}  // namespace

void setAutoScanBackendOverride(ScanBackend backend) { g_autoOverride = int(backend); }

ScanBackend resolveScanBackend(const torch::Device& device) {
    if (const auto o = ScanBackend(g_autoOverride.load()); o != ScanBackend::Auto) return o;
    if (device.is_cpu()) return ScanBackend::FusedCpu;  // kernel: scan_cpu.cpp
    if (device.is_cuda() && scan_cuda::kernelsCompiled()) return ScanBackend::Cuda;  // kernels/cuda/
    // No fused kernel of ours for this device in this build: the chunked parallel scan in tensor
    // ops runs wherever LibTorch does, in log2(chunk) steps instead of one per token.
    return ScanBackend::Chunked;
}

std::string describeScanBackend(const torch::Device& device) {
    const ScanBackend b = resolveScanBackend(device);
    if (b == ScanBackend::FusedCpu) return toString(b) + " (" + scan_cpu::activeIsa() + ")";
    if (b == ScanBackend::Chunked) return toString(b) + " (tensor ops)";
    if (b == ScanBackend::Cuda) return toString(b) + " (fused, d_state <= " + std::to_string(scan_cuda::maxState()) + ")";
    return toString(b);
}

namespace {
// The reference takes float32 only: lower-precision inputs (bf16 activations under autocast)
// are widened for it.
ScanInputs inFloat32(const ScanInputs& in) {
    ScanInputs out = in;
    for (torch::Tensor* t : {&out.u, &out.delta, &out.A, &out.Bm, &out.Cm, &out.Dskip, &out.z, &out.deltaBias,
                             &out.initialState})
        if (t->defined() && t->is_floating_point() && t->scalar_type() != torch::kFloat32 &&
            t->scalar_type() != torch::kFloat64)
            *t = t->to(torch::kFloat32);
    return out;
}
}  // namespace

ScanOutputs selectiveScan(const ScanInputs& in, bool returnLastState, ScanBackend backend) {
    if (!in.u.defined()) throw std::invalid_argument("selectiveScan: u is undefined");
    if (backend == ScanBackend::Auto) {
        backend = resolveScanBackend(in.u.device());
        // The CUDA kernel holds the state in registers: larger d_state takes the chunked scan.
        if (backend == ScanBackend::Cuda && in.A.defined() && in.A.dim() == 2 && in.A.size(1) > scan_cuda::maxState())
            backend = ScanBackend::Chunked;
    }
    switch (backend) {
        case ScanBackend::Reference: return selectiveScanReference(inFloat32(in), returnLastState);
        case ScanBackend::FusedCpu: return selectiveScanFusedCpu(in, returnLastState);
        case ScanBackend::Chunked: return selectiveScanChunked(in, returnLastState);
        case ScanBackend::Cuda: return scan_cuda::selectiveScan(in, returnLastState);
        default:
            throw std::invalid_argument("selectiveScan: backend '" + toString(backend) +
                                        "' is not available in this build");
    }
}

std::string describeDefaultScanBackend(bool cuda) {
    return describeScanBackend(cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU));
}

}  // namespace mts

#pragma once
// CUDA-only calls that differ between a CPU-only LibTorch (Debian's 1.13, here) and an official
// CUDA LibTorch 2.x. Every function compiles against both: the generator state goes through
// at::Context (no CUDA headers); the caching allocator's statistics need c10_cuda and are
// compiled only when CMake found it (MTS_TORCH_CUDA, set by core/CMakeLists.txt for this file).
// Device indices are CUDA ordinals (0-based). Thread-safe where LibTorch's calls are.
#include <cstdint>
#include <optional>
#include <string>

#include <torch/torch.h>

namespace mts::compat {

/// Whether this build can read the CUDA caching allocator (LibTorch has c10_cuda).
bool cudaAllocatorStatsBuilt();

/// The state of CUDA device `device`'s default generator (a CPU uint8 tensor, as
/// torch.cuda.get_rng_state), or an undefined tensor when CUDA is not available.
torch::Tensor cudaRngState(int device);

/// Restores a state cudaRngState() returned. Throws std::runtime_error when CUDA is not
/// available or LibTorch rejects the state (wrong size: naming the problem).
void setCudaRngState(int device, const torch::Tensor& state);

/// Resets the allocator's peak counters of `device` (torch.cuda.reset_peak_memory_stats); a
/// no-op when the statistics are not built or CUDA is absent.
void resetCudaPeakMemory(int device);

struct CudaMemoryPeak {
    int64_t allocatedBytes = 0;  // peak of tensor memory (torch.cuda.max_memory_allocated)
    int64_t reservedBytes = 0;   // peak held by the caching allocator (max_memory_reserved)
};

/// The peaks since the last reset; nullopt when the statistics are not built or CUDA is absent.
std::optional<CudaMemoryPeak> cudaPeakMemory(int device);

/// Dense bf16 tensor-core peak in TFLOP/s of a GPU from its name (as cudaDeviceDescription
/// gives it): H100 SXM 989, H100 PCIe 756, H200 989, A100 312; nullopt when unknown.
/// Pure.
std::optional<double> knownBf16PeakTflops(const std::string& deviceName);

}  // namespace mts::compat

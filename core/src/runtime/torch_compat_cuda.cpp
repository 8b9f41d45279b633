#include "mts/core/runtime/torch_compat_cuda.h"

#include <stdexcept>
#include <vector>

#include <ATen/Context.h>

#ifdef MTS_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace mts::compat {

bool cudaAllocatorStatsBuilt() {
#ifdef MTS_TORCH_CUDA
    return true;
#else
    return false;
#endif
}

namespace {
bool deviceExists(int device) {
    return torch::cuda::is_available() && device >= 0 && device < static_cast<int>(torch::cuda::device_count());
}

at::Generator cudaGenerator(int device) {
    return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device)));
}
}  // namespace

torch::Tensor cudaRngState(int device) {
    if (!deviceExists(device)) return {};
    at::Generator gen = cudaGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

void setCudaRngState(int device, const torch::Tensor& state) {
    if (!deviceExists(device))
        throw std::runtime_error("cannot restore the CUDA random state: no CUDA device " + std::to_string(device));
    at::Generator gen = cudaGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    try {
        gen.set_state(state.to(torch::kCPU).contiguous());
    } catch (const c10::Error& e) {
        throw std::runtime_error(std::string("the saved CUDA random state is not valid: ") + e.what_without_backtrace());
    }
}

void resetCudaPeakMemory(int device) {
#ifdef MTS_TORCH_CUDA
    if (deviceExists(device)) c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
    (void)device;
#endif
}

std::optional<CudaMemoryPeak> cudaPeakMemory(int device) {
#ifdef MTS_TORCH_CUDA
    if (!deviceExists(device)) return std::nullopt;
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    // Index 0 is StatType::AGGREGATE (the enum moved namespaces between 1.13 and 2.5).
    CudaMemoryPeak p;
    p.allocatedBytes = static_cast<int64_t>(stats.allocated_bytes[0].peak);
    p.reservedBytes = static_cast<int64_t>(stats.reserved_bytes[0].peak);
    return p;
#else
    (void)device;
    return std::nullopt;
#endif
}

std::optional<double> knownBf16PeakTflops(const std::string& name) {
    auto has = [&name](const char* s) { return name.find(s) != std::string::npos; };
    // Dense (no sparsity) bf16 tensor-core figures from NVIDIA's data sheets.
    if (has("H200")) return 989.0;
    if (has("H100")) return has("PCIe") ? 756.0 : 989.0;  // SXM (HBM3) vs PCIe
    if (has("A100")) return 312.0;
    return std::nullopt;
}

}  // namespace mts::compat

#pragma once
// The one place where LibTorch 1.13 (Debian) and 2.x (official builds) differ for us.
// Include this instead of testing TORCH_VERSION_* anywhere else.
#include <torch/torch.h>
#include <torch/version.h>

#include <utility>

#define MTS_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) ||    \
     (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#include <functional>
#include <memory>
#include <string>

namespace mts::compat {

/// RAII autocast region for bf16/fp16 on the given device type (CPU or CUDA).
/// 1.13 and 2.x share at::autocast's set_*_enabled API for CPU and CUDA; kept here so that a
/// future rename (2.4 added the device-generic set_autocast_enabled) touches one file.
class AutocastGuard {
public:
    AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool enabled);
    ~AutocastGuard();
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    c10::DeviceType m_device;
    bool m_enabled;
    bool m_prevEnabled = false;
    at::ScalarType m_prevDtype = at::kBFloat16;
};

/// RAII region where autocast is off for CPU and CUDA (ops run in their inputs' dtypes), for
/// kernels that compute in float32 inside a bf16 autocast region (the SSD's matrix products).
/// Restores the previous state on destruction. Thread-local, like autocast itself.
class AutocastOff {
public:
    AutocastOff();
    ~AutocastOff();
    AutocastOff(const AutocastOff&) = delete;
    AutocastOff& operator=(const AutocastOff&) = delete;

private:
    bool m_cpu = false, m_cuda = false;
};

/// The autocast state of the current thread for a device type: (enabled, low-precision dtype).
/// Used to re-enter the same autocast region when recomputing (gradient checkpointing).
std::pair<bool, at::ScalarType> autocastState(c10::DeviceType device);

/// Calls `ready` on the autograd thread each time backward has accumulated a gradient into the
/// leaf tensor `param`'s .grad (after the accumulation, like 2.1's
/// register_post_accumulate_grad_hook): a post hook on its AccumulateGrad node, the way
/// c10d's DDP reducer does it. The hook lives as long as the returned handle (which also keeps
/// the node alive, so every backward pass uses the same one).
std::shared_ptr<void> onGradAccumulated(const at::Tensor& param, std::function<void()> ready);

/// Whether this LibTorch was built with CUDA and a device is present.
bool cudaAvailable();

/// "NVIDIA H100 80GB HBM3, 79.1 GiB" for CUDA device `index`, asked of the NVIDIA driver
/// (libcuda.so.1, loaded at run time, so no CUDA headers are needed to build); "" when the
/// driver cannot say. `totalBytes` receives the device memory (0 when unknown).
std::string cudaDeviceDescription(int index, int64_t& totalBytes);

}  // namespace mts::compat

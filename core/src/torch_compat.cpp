#include "mts/core/torch_compat.h"

#include <ATen/autocast_mode.h>

namespace mts::compat {

AutocastGuard::AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool enabled)
    : m_device(device), m_enabled(enabled) {
    if (!m_enabled) return;
    if (m_device == c10::DeviceType::CUDA) {
        m_prevEnabled = at::autocast::is_enabled();
        m_prevDtype = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_autocast_gpu_dtype(dtype);
        at::autocast::set_enabled(true);
    } else {
        m_prevEnabled = at::autocast::is_cpu_enabled();
        m_prevDtype = at::autocast::get_autocast_cpu_dtype();
        at::autocast::set_autocast_cpu_dtype(dtype);
        at::autocast::set_cpu_enabled(true);
    }
}

AutocastGuard::~AutocastGuard() {
    if (!m_enabled) return;
    if (m_device == c10::DeviceType::CUDA) {
        at::autocast::set_enabled(m_prevEnabled);
        at::autocast::set_autocast_gpu_dtype(m_prevDtype);
    } else {
        at::autocast::set_cpu_enabled(m_prevEnabled);
        at::autocast::set_autocast_cpu_dtype(m_prevDtype);
    }
    // Cached casts of weights are only valid inside one region.
    at::autocast::clear_cache();
}

bool cudaAvailable() { return torch::cuda::is_available(); }

}  // namespace mts::compat

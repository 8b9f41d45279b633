#pragma once
// LibTorch side of the CPU kernels (scan_cpu.cpp, conv_cpu.cpp): tensors as the raw pointers
// and storage types of scan_cpu_args.h, and the dtype dispatch. Private to mts_core.
#include <type_traits>

#include <torch/torch.h>

#include "kernels/scan_cpu_args.h"

namespace mts::kernel {

/// The kernels take (B, L, X) tensors with any batch/time strides but a contiguous last dim.
inline torch::Tensor lastDimContiguous(const torch::Tensor& t) {
    if (!t.defined()) return t;
    return t.stride(-1) == 1 ? t : t.contiguous();
}

/// A tensor's data as the kernels' element type (scan_cpu::Bf16 for bfloat16 storage).
template <typename T>
T* dataOf(const torch::Tensor& t) {
    if constexpr (std::is_same_v<T, scan_cpu::Bf16>) {
        static_assert(sizeof(at::BFloat16) == sizeof(scan_cpu::Bf16), "bf16 layout");
        return reinterpret_cast<scan_cpu::Bf16*>(t.data_ptr<at::BFloat16>());
    } else {
        return t.data_ptr<T>();
    }
}

/// dataOf, or nullptr for an undefined (absent optional) tensor.
template <typename T>
T* ptrOrNull(const torch::Tensor& t) {
    return t.defined() ? dataOf<T>(t) : nullptr;
}

/// Calls f(T{}, IO{}) for the compute type T and activation storage type IO that belong to the
/// activations' dtype io: double/double, float/Bf16 or float/float. `what` names the kernel in
/// the error for any other dtype.
template <typename F>
void dispatchStorage(at::ScalarType io, const char* what, F&& f) {
    switch (io) {
    case at::kDouble: f(double{}, double{}); break;
    case at::kBFloat16: f(float{}, scan_cpu::Bf16{}); break;
    case at::kFloat: f(float{}, float{}); break;
    default: TORCH_CHECK(false, what, ": unsupported dtype ", io);
    }
}

}  // namespace mts::kernel

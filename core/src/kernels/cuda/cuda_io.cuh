#pragma once
// Loads and stores of the activations' storage types (float, double, __half, __nv_bfloat16) as
// the compute type, for the .cu files only.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda_launch.h"

namespace mts::scan_cuda {

__host__ __device__ __forceinline__ float toCompute(float v) { return v; }
__host__ __device__ __forceinline__ double toCompute(double v) { return v; }
__host__ __device__ __forceinline__ float toCompute(__half v) { return __half2float(v); }
__host__ __device__ __forceinline__ float toCompute(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename IO, typename T>
__host__ __device__ __forceinline__ IO fromCompute(T v);
template <>
__host__ __device__ __forceinline__ float fromCompute<float, float>(float v) { return v; }
template <>
__host__ __device__ __forceinline__ double fromCompute<double, double>(double v) { return v; }
template <>
__host__ __device__ __forceinline__ __half fromCompute<__half, float>(float v) { return __float2half_rn(v); }
template <>
__host__ __device__ __forceinline__ __nv_bfloat16 fromCompute<__nv_bfloat16, float>(float v) { return __float2bfloat16_rn(v); }

/// Calls f(IO{}, T{}) for the storage type and its compute type.
template <typename F>
int dispatchIo(IoType io, F&& f) {
    switch (io) {
        case IoType::F32: return f(float{}, float{});
        case IoType::F64: return f(double{}, double{});
        case IoType::F16: return f(__half{}, float{});
        case IoType::BF16: return f(__nv_bfloat16{}, float{});
    }
    return 1;  // cudaErrorInvalidValue
}

}  // namespace mts::scan_cuda

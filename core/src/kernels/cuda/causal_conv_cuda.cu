// The fused CUDA causal depthwise conv1d + SiLU, forward and backward (per-thread math in
// scan_cuda_math.cuh, interface in cuda_launch.h). Token-major (B, L, D): one thread per
// (sequence, channel, tile of kConvTile steps); neighbouring threads are neighbouring channels,
// so every row access of a warp is one coalesced load. The backward recomputes the
// pre-activation; dw and dbias are summed per thread over its tile and added atomically.
#include <cuda_runtime.h>

#include "cuda_io.cuh"
#include "cuda_launch.h"
#include "scan_cuda_math.cuh"

namespace mts::scan_cuda {
namespace {

// Input of channel d at step s of sequence b: x, the left context for s < 0, or 0.
template <typename IO, typename T>
struct XAt {
    const IO* x;     // + b * xSB + d
    const IO* left;  // + b * (K-1) * D + d, or nullptr
    int64_t xSL, D, K;
    __host__ __device__ T operator()(long long s) const {
        if (s >= 0) return toCompute(x[s * xSL]);
        if (!left) return T(0);
        return toCompute(left[(K - 1 + s) * D]);
    }
};
template <typename IO, typename T>
struct RowAt {
    const IO* p;  // + b * sB + d
    int64_t sL;
    __host__ __device__ T operator()(long long s) const { return toCompute(p[s * sL]); }
};
template <typename IO, typename T>
struct RowStore {
    IO* p;  // + b * L * D + d
    int64_t D;
    __host__ __device__ void operator()(long long s, T v) const { p[s * D] = fromCompute<IO, T>(v); }
};

struct Thread {
    int64_t b, d, t0, t1;
    bool active;
};
__device__ Thread convThread(const ConvLaunchArgs& a) {
    Thread t;
    t.d = int64_t(blockIdx.x) * kConvThreads + threadIdx.x;
    t.t0 = int64_t(blockIdx.y) * kConvTile;
    t.t1 = t.t0 + kConvTile < a.L ? t.t0 + kConvTile : a.L;
    t.b = blockIdx.z;
    t.active = t.d < a.D;
    return t;
}

template <typename IO, typename T>
__device__ XAt<IO, T> xAt(const ConvLaunchArgs& a, const Thread& t) {
    const IO* left = a.left ? static_cast<const IO*>(a.left) + t.b * (a.K - 1) * a.D + t.d : nullptr;
    return {static_cast<const IO*>(a.x) + t.b * a.xSB + t.d, left, a.xSL, a.D, a.K};
}

template <typename T>
__device__ void loadTaps(const ConvLaunchArgs& a, int64_t d, T* w, T& bias) {
    for (int j = 0; j < a.K; ++j) w[j] = static_cast<const T*>(a.w)[j * a.D + d];
    bias = a.bias ? static_cast<const T*>(a.bias)[d] : T(0);
}

template <typename IO, typename T>
__global__ void __launch_bounds__(kConvThreads) convForwardKernel(const ConvLaunchArgs a) {
    const Thread t = convThread(a);
    if (!t.active) return;
    T w[kConvMaxWidth], bias;
    loadTaps(a, t.d, w, bias);
    const RowStore<IO, T> y{static_cast<IO*>(a.y) + t.b * a.L * a.D + t.d, a.D};
    convForwardTile<T>(w, int(a.K), bias, a.silu, t.t0, t.t1, xAt<IO, T>(a, t), y);
}

template <typename IO, typename T>
__global__ void __launch_bounds__(kConvThreads) convBackwardKernel(const ConvLaunchArgs a) {
    const Thread t = convThread(a);
    if (!t.active) return;
    T w[kConvMaxWidth], bias, dw[kConvMaxWidth], db;
    loadTaps(a, t.d, w, bias);
    const RowAt<IO, T> dy{static_cast<const IO*>(a.dy) + t.b * a.dySB + t.d, a.dySL};
    const RowStore<IO, T> dx{static_cast<IO*>(a.dx) + t.b * a.L * a.D + t.d, a.D};
    convBackwardTile<T>(w, int(a.K), bias, a.silu, t.t0, t.t1, a.L, xAt<IO, T>(a, t), dy, dx, dw, db);
    for (int j = 0; j < a.K; ++j) atomicAdd(static_cast<T*>(a.dw) + j * a.D + t.d, dw[j]);
    if (a.dBias) atomicAdd(static_cast<T*>(a.dBias) + t.d, db);
}

template <bool kBackward>
int launchConv(const ConvLaunchArgs& a, cudaStream_t stream) {
    if (a.B < 1 || a.B > 65535 || a.D < 1 || a.K < 1 || a.K > kConvMaxWidth || a.L < 0 ||
        (a.L + kConvTile - 1) / kConvTile > 65535)
        return int(cudaErrorInvalidValue);
    if (a.L == 0) return 0;
    const dim3 grid(unsigned((a.D + kConvThreads - 1) / kConvThreads), unsigned((a.L + kConvTile - 1) / kConvTile),
                    unsigned(a.B));
    return dispatchIo(a.io, [&](auto ioTag, auto tTag) {
        using IO = decltype(ioTag);
        using T = decltype(tTag);
        if constexpr (kBackward) convBackwardKernel<IO, T><<<grid, kConvThreads, 0, stream>>>(a);
        else convForwardKernel<IO, T><<<grid, kConvThreads, 0, stream>>>(a);
        return int(cudaGetLastError());
    });
}

}  // namespace

int convForward(const ConvLaunchArgs& a, cudaStream_t stream) { return launchConv<false>(a, stream); }
int convBackward(const ConvLaunchArgs& a, cudaStream_t stream) { return launchConv<true>(a, stream); }

}  // namespace mts::scan_cuda

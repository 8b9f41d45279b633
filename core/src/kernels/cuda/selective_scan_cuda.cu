// The fused CUDA selective scan, forward and recomputing backward (design: scan_cuda_math.cuh;
// interface: cuda_launch.h). Templates over the activations' storage (float, double, __half,
// __nv_bfloat16) with fp32 (fp64 for double) state and arithmetic, and over the register
// capacity NM (16 or 64 >= d_state).
#include <cuda_runtime.h>

#include "cuda_io.cuh"
#include "cuda_launch.h"
#include "scan_cuda_math.cuh"

namespace mts::scan_cuda {
namespace {

constexpr int S = kScanThreads;

/// Block reduction of the shared gradients (dB, dC): the block is one warp; lane 0 adds the
/// warp's sum to global memory (blocks of other channel groups add to the same rows).
struct WarpAdd {
    template <typename T>
    __host__ __device__ void operator()(T* p, T v) const {
#ifdef __CUDA_ARCH__
        MTS_UNROLL
        for (int o = S / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (threadIdx.x == 0) atomicAdd(p, v);
#else
        *p += v;
#endif
    }
};

// One thread's channel constants and A row; zeros for the tail threads past D (they run the
// same code on zero inputs, so the block's warp sums see every lane).
template <typename T, int NM>
__device__ void loadChannel(const ScanLaunchArgs& a, int64_t d, bool active, T (&Ar)[NM], ScanChannel<T>& p) {
    const T* A = static_cast<const T*>(a.A);
    MTS_UNROLL
    for (int n = 0; n < NM; ++n) Ar[n] = active && n < a.N ? A[d * a.N + n] : T(0);
    p.Dv = active && a.Dskip ? static_cast<const T*>(a.Dskip)[d] : T(0);
    p.bias = active && a.bias ? static_cast<const T*>(a.bias)[d] : T(0);
    p.softplus = a.softplus;
    p.hasZ = a.z != nullptr;
}

// Stages rows [t0, t0 + len) of a (B, L, D) activation for the block's channels as T.
template <typename IO, typename T>
__device__ void stageRows(const void* src, int64_t sB, int64_t sL, int64_t b, int64_t t0, int len, int64_t d,
                          bool active, T* dst) {
    const IO* p = static_cast<const IO*>(src) + b * sB + d;
    for (int i = 0; i < len; ++i) dst[i * S + threadIdx.x] = active ? toCompute(p[(t0 + i) * sL]) : T(0);
}

// Stages the chunk's B and C rows (len x N, dense) with all threads.
template <typename T>
__device__ void stageBC(const ScanLaunchArgs& a, int64_t b, int64_t t0, int len, T* sB, T* sC) {
    const T* Bm = static_cast<const T*>(a.Bm) + b * a.bSB;
    const T* Cm = static_cast<const T*>(a.Cm) + b * a.cSB;
    const int N = int(a.N);
    for (int idx = threadIdx.x; idx < len * N; idx += S) {
        const int i = idx / N, n = idx % N;
        sB[idx] = Bm[(t0 + i) * a.bSL + n];
        sC[idx] = Cm[(t0 + i) * a.cSL + n];
    }
}

template <typename IO, typename T, int NM>
__global__ void __launch_bounds__(S) scanForwardKernel(const ScanLaunchArgs a) {
    __shared__ T sU[kMaxChunk * S], sDelta[kMaxChunk * S], sZ[kMaxChunk * S];
    __shared__ T sB[kMaxChunk * NM], sC[kMaxChunk * NM];
    const int tid = int(threadIdx.x);
    const int64_t b = blockIdx.y, d = int64_t(blockIdx.x) * S + tid;
    const bool active = d < a.D;
    const int N = int(a.N), K = int(a.chunk);
    const int64_t D = a.D, L = a.L, nCh = (L + K - 1) / K;
    T Ar[NM], h[NM];
    ScanChannel<T> p;
    loadChannel<T, NM>(a, d, active, Ar, p);
    const T* h0 = static_cast<const T*>(a.h0);
    MTS_UNROLL
    for (int n = 0; n < NM; ++n) h[n] = active && h0 && n < N ? h0[(b * D + d) * N + n] : T(0);
    T* cs = static_cast<T*>(a.chunkStates);
    IO* y = static_cast<IO*>(a.y);
    for (int64_t c = 0; c < nCh; ++c) {
        const int64_t t0 = c * K;
        const int len = int(L - t0 < K ? L - t0 : K);
        if (cs && active)
            for (int n = 0; n < N; ++n) cs[((b * nCh + c) * N + n) * D + d] = h[n];
        __syncthreads();  // the previous chunk's staged values are consumed
        stageRows<IO, T>(a.u, a.uSB, a.uSL, b, t0, len, d, active, sU);
        stageRows<IO, T>(a.delta, a.dSB, a.dSL, b, t0, len, d, active, sDelta);
        if (p.hasZ) stageRows<IO, T>(a.z, a.zSB, a.zSL, b, t0, len, d, active, sZ);
        stageBC<T>(a, b, t0, len, sB, sC);
        __syncthreads();
        scanForwardChunk<T, NM>(h, Ar, N, len, sB, sC, sU + tid, sDelta + tid, sZ + tid, S, p, sU + tid);
        if (active)
            for (int i = 0; i < len; ++i) y[(b * L + t0 + i) * D + d] = fromCompute<IO, T>(sU[i * S + tid]);
    }
    if (a.hLast && active) {
        T* hl = static_cast<T*>(a.hLast);
        for (int n = 0; n < N; ++n) hl[(b * D + d) * N + n] = h[n];
    }
}

template <typename IO, typename T, int NM>
__global__ void __launch_bounds__(S) scanBackwardKernel(const ScanLaunchArgs a) {
    __shared__ T sU[kMaxChunk * S], sDelta[kMaxChunk * S], sZ[kMaxChunk * S], sDy[kMaxChunk * S];
    __shared__ T sB[kMaxChunk * NM], sC[kMaxChunk * NM];
    T hs[(kMaxChunk + 1) * NM], dts[kMaxChunk], ss[kMaxChunk];  // per-thread recompute buffers
    const int tid = int(threadIdx.x);
    const int64_t b = blockIdx.y, d = int64_t(blockIdx.x) * S + tid;
    const bool active = d < a.D;
    const int N = int(a.N), K = int(a.chunk);
    const int64_t D = a.D, L = a.L, nCh = (L + K - 1) / K;
    T Ar[NM];
    ScanChannel<T> p;
    loadChannel<T, NM>(a, d, active, Ar, p);
    ScanGradCarry<T, NM> g;
    const T* dhLast = static_cast<const T*>(a.dhLast);
    MTS_UNROLL
    for (int n = 0; n < NM; ++n) {
        g.dh[n] = active && dhLast && n < N ? dhLast[(b * D + d) * N + n] : T(0);
        g.dA[n] = T(0);
    }
    const T* cs = static_cast<const T*>(a.chunkStates);
    IO* du = static_cast<IO*>(a.du);
    IO* ddelta = static_cast<IO*>(a.ddelta);
    IO* dz = static_cast<IO*>(a.dz);
    T* dB = static_cast<T*>(a.dB) + b * L * N;
    T* dC = static_cast<T*>(a.dC) + b * L * N;
    for (int64_t c = nCh - 1; c >= 0; --c) {
        const int64_t t0 = c * K;
        const int len = int(L - t0 < K ? L - t0 : K);
        __syncthreads();
        stageRows<IO, T>(a.u, a.uSB, a.uSL, b, t0, len, d, active, sU);
        stageRows<IO, T>(a.delta, a.dSB, a.dSL, b, t0, len, d, active, sDelta);
        stageRows<IO, T>(a.dy, a.dySB, a.dySL, b, t0, len, d, active, sDy);
        if (p.hasZ) stageRows<IO, T>(a.z, a.zSB, a.zSL, b, t0, len, d, active, sZ);
        stageBC<T>(a, b, t0, len, sB, sC);
        __syncthreads();
        T hc[NM];
        MTS_UNROLL
        for (int n = 0; n < NM; ++n) hc[n] = active && n < N ? cs[((b * nCh + c) * N + n) * D + d] : T(0);
        scanRecomputeChunk<T, NM>(hc, Ar, N, len, sB, sC, sU + tid, sDelta + tid, S, p, hs, dts, ss);
        scanBackwardChunk<T, NM>(g, Ar, N, len, sB, sC, sU + tid, sDelta + tid, sZ + tid, sDy + tid, S, p, hs,
                                 dts, ss, dB + t0 * N, dC + t0 * N, WarpAdd{}, sU + tid, sDelta + tid, sZ + tid);
        if (active) {
            for (int i = 0; i < len; ++i) {
                const int64_t o = (b * L + t0 + i) * D + d;
                du[o] = fromCompute<IO, T>(sU[i * S + tid]);
                ddelta[o] = fromCompute<IO, T>(sDelta[i * S + tid]);
                if (p.hasZ) dz[o] = fromCompute<IO, T>(sZ[i * S + tid]);
            }
        }
    }
    if (!active) return;
    T* dA = static_cast<T*>(a.dA);
    for (int n = 0; n < N; ++n) atomicAdd(dA + d * N + n, g.dA[n]);
    if (a.dD) atomicAdd(static_cast<T*>(a.dD) + d, g.dD);
    if (a.dBias) atomicAdd(static_cast<T*>(a.dBias) + d, g.dBias);
    if (a.dh0) {
        T* dh0 = static_cast<T*>(a.dh0);
        for (int n = 0; n < N; ++n) dh0[(b * D + d) * N + n] = g.dh[n];
    }
}

bool validScan(const ScanLaunchArgs& a) {
    return a.B >= 1 && a.B <= 65535 && a.D >= 1 && a.N >= 1 && a.N <= kMaxState && a.chunk >= 1 &&
           a.chunk <= kMaxChunk && a.L >= 0;
}

template <bool kBackward>
int launchScan(const ScanLaunchArgs& a, cudaStream_t stream) {
    if (!validScan(a)) return int(cudaErrorInvalidValue);
    if (a.L == 0) return 0;
    const dim3 grid(unsigned((a.D + S - 1) / S), unsigned(a.B));
    return dispatchIo(a.io, [&](auto ioTag, auto tTag) {
        using IO = decltype(ioTag);
        using T = decltype(tTag);
        if (a.N <= 16) {
            if constexpr (kBackward) scanBackwardKernel<IO, T, 16><<<grid, S, 0, stream>>>(a);
            else scanForwardKernel<IO, T, 16><<<grid, S, 0, stream>>>(a);
        } else {
            if constexpr (kBackward) scanBackwardKernel<IO, T, 64><<<grid, S, 0, stream>>>(a);
            else scanForwardKernel<IO, T, 64><<<grid, S, 0, stream>>>(a);
        }
        return int(cudaGetLastError());
    });
}

}  // namespace

int scanForward(const ScanLaunchArgs& a, cudaStream_t stream) { return launchScan<false>(a, stream); }
int scanBackward(const ScanLaunchArgs& a, cudaStream_t stream) { return launchScan<true>(a, stream); }
const char* errorText(int code) { return cudaGetErrorString(cudaError_t(code)); }

}  // namespace mts::scan_cuda

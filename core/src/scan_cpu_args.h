#pragma once
// Raw-pointer interface between the LibTorch side (scan_cpu.cpp) and the per-ISA kernels
// (scan_cpu_isa.cpp, scan_cpu_kernel.h). Private to mts_core.
#include <cstdint>
#include <mutex>

#include "mts/core/scan_cpu.h"

namespace mts::scan_cpu {

template <typename T>
struct ScanArgs {
    int64_t B = 0, L = 0, D = 0, N = 0;
    int64_t chunk = kDefaultChunk;
    int64_t groups = 1;        // backward: channel-block groups per sequence (tasks = B * groups)
    bool softplus = true;
    // Inputs. (B, L, *) tensors are addressed as p + b*sB + t*sL + i (last dim contiguous),
    // so the projection's slices need no copy.
    const T* u = nullptr;      int64_t uSB = 0, uSL = 0;
    const T* delta = nullptr;  int64_t dSB = 0, dSL = 0;
    const T* z = nullptr;      int64_t zSB = 0, zSL = 0;       // optional
    const T* Bm = nullptr;     int64_t bSB = 0, bSL = 0;
    const T* Cm = nullptr;     int64_t cSB = 0, cSL = 0;
    const T* A = nullptr;      // (D, N) contiguous
    const T* Dskip = nullptr;  // (D) optional
    const T* bias = nullptr;   // (D) optional
    const T* h0 = nullptr;     // (B, D, N) contiguous, optional
    // Forward outputs.
    T* y = nullptr;            // (B, L, D) contiguous
    T* hLast = nullptr;        // (B, D, N) optional
    T* chunkStates = nullptr;  // (B, ceil(L/chunk), N, D) optional (saved for backward)
    // Backward inputs / outputs.
    const T* dy = nullptr;     int64_t dySB = 0, dySL = 0;
    const T* dhLast = nullptr;  // (B, D, N) optional
    T* du = nullptr;           // (B, L, D)
    T* ddelta = nullptr;       // (B, L, D)
    T* dz = nullptr;           // (B, L, D) when z
    T* dB = nullptr;           // (B, L, N), zero on entry, accumulated under the mutex
    T* dC = nullptr;           // (B, L, N), idem
    T* dAPart = nullptr;       // (B, D, N): per-sequence dA, caller sums over B
    T* dDPart = nullptr;       // (B, D) when Dskip
    T* dBiasPart = nullptr;    // (B, D) when bias
    T* dh0 = nullptr;          // (B, D, N) optional
};

template <typename T>
struct KernelSet {
    int lanes = 1;  // channels per task
    void (*forward)(const ScanArgs<T>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
    // Tasks: B * a.groups (sequence, group of channel blocks).
    void (*backward)(const ScanArgs<T>&, int64_t taskBegin, int64_t taskEnd, std::mutex& reduce) = nullptr;
};

/// Kernels for the active ISA, specialised for d_state n where it pays (4, 8, 16).
KernelSet<float> kernelsF32(int64_t n);
KernelSet<double> kernelsF64(int64_t n);

}  // namespace mts::scan_cpu

namespace mts::scan_cpu {

/// Causal depthwise conv1d (+ optional SiLU), token-major. y[t] = act(bias + sum_j w[j] x[t-K+1+j]),
/// x[s < 0] taken from `left` (B, K-1, D) or zero.
template <typename T>
struct ConvArgs {
    int64_t B = 0, L = 0, D = 0, K = 0;
    bool silu = true;
    const T* x = nullptr;     int64_t xSB = 0, xSL = 0;  // (B, L, D), last dim contiguous
    const T* left = nullptr;  // (B, K-1, D) contiguous, optional
    const T* w = nullptr;     // (K, D) contiguous (transposed from the module's (D, 1, K))
    const T* bias = nullptr;  // (D) optional
    T* y = nullptr;           // (B, L, D)
    // Backward.
    const T* dy = nullptr;    int64_t dySB = 0, dySL = 0;
    T* dx = nullptr;          // (B, L, D)
    T* dwPart = nullptr;      // (B, K, D), caller sums over B
    T* dbPart = nullptr;      // (B, D) when bias
};

template <typename T>
struct ConvKernelSet {
    int lanes = 1;
    void (*forward)(const ConvArgs<T>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
    void (*backward)(const ConvArgs<T>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
};

ConvKernelSet<float> convKernelsF32();
ConvKernelSet<double> convKernelsF64();

}  // namespace mts::scan_cpu

#pragma once
// Raw-pointer interface between the LibTorch side (scan_cpu.cpp) and the per-ISA kernels
// (scan_cpu_isa.cpp, scan_cpu_kernel.h). Private to mts_core.
#include <cstdint>
#include <mutex>

#include "mts/core/kernels/scan_cpu.h"

namespace mts::scan_cpu {

/// bfloat16 storage (the layout of at::BFloat16): the kernels read and write the (B, L, D)
/// activations in it under bf16 autocast and compute in float.
struct Bf16 {
    uint16_t bits;
};

/// T: the compute type (float, double); IO: the storage type of the (B, L, D) activations and
/// their gradients (u, delta, z, y, dy, du, ddelta, dz): T, or Bf16 with T = float. The small
/// tensors (A, B, C, D, bias, states) are always T.
template <typename T, typename IO = T>
struct ScanArgs {
    int64_t B = 0, L = 0, D = 0, N = 0;
    int64_t chunk = kDefaultChunk;
    int64_t groups = 1;        // backward: channel-block groups per sequence (tasks = B * groups)
    bool softplus = true;
    // Inputs. (B, L, *) tensors are addressed as p + b*sB + t*sL + i (last dim contiguous),
    // so the projection's slices need no copy.
    const IO* u = nullptr;     int64_t uSB = 0, uSL = 0;
    const IO* delta = nullptr; int64_t dSB = 0, dSL = 0;
    const IO* z = nullptr;     int64_t zSB = 0, zSL = 0;       // optional
    const T* Bm = nullptr;     int64_t bSB = 0, bSL = 0;
    const T* Cm = nullptr;     int64_t cSB = 0, cSL = 0;
    const T* A = nullptr;      // (D, N) contiguous
    const T* Dskip = nullptr;  // (D) optional
    const T* bias = nullptr;   // (D) optional
    const T* h0 = nullptr;     // (B, D, N) contiguous, optional
    // Forward outputs.
    IO* y = nullptr;           // (B, L, D) contiguous
    T* hLast = nullptr;        // (B, D, N) optional
    T* chunkStates = nullptr;  // (B, ceil(L/chunk), N, D) optional (saved for backward)
    // Backward inputs / outputs.
    const IO* dy = nullptr;    int64_t dySB = 0, dySL = 0;
    const T* dhLast = nullptr;  // (B, D, N) optional
    IO* du = nullptr;          // (B, L, D)
    IO* ddelta = nullptr;      // (B, L, D)
    IO* dz = nullptr;          // (B, L, D) when z
    T* dB = nullptr;           // (B, L, N), zero on entry, accumulated under the mutex
    T* dC = nullptr;           // (B, L, N), idem
    T* dAPart = nullptr;       // (B, D, N): per-sequence dA, caller sums over B
    T* dDPart = nullptr;       // (B, D) when Dskip
    T* dBiasPart = nullptr;    // (B, D) when bias
    T* dh0 = nullptr;          // (B, D, N) optional
};

template <typename T, typename IO = T>
struct KernelSet {
    int lanes = 1;  // channels per task
    void (*forward)(const ScanArgs<T, IO>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
    // Tasks: B * a.groups (sequence, group of channel blocks).
    void (*backward)(const ScanArgs<T, IO>&, int64_t taskBegin, int64_t taskEnd, std::mutex& reduce) = nullptr;
};

/// Kernels for the active ISA, specialised for d_state n where it pays (4, 8, 16).
KernelSet<float> kernelsF32(int64_t n);
KernelSet<float, Bf16> kernelsBf16(int64_t n);
KernelSet<double> kernelsF64(int64_t n);

}  // namespace mts::scan_cpu

namespace mts::scan_cpu {

/// Causal depthwise conv1d (+ optional SiLU), token-major. y[t] = act(bias + sum_j w[j] x[t-K+1+j]),
/// x[s < 0] taken from `left` (B, K-1, D) or zero.
template <typename T, typename IO = T>
struct ConvArgs {
    int64_t B = 0, L = 0, D = 0, K = 0;
    bool silu = true;
    const IO* x = nullptr;    int64_t xSB = 0, xSL = 0;  // (B, L, D), last dim contiguous
    const IO* left = nullptr; // (B, K-1, D) contiguous, optional
    const T* w = nullptr;     // (K, D) contiguous (transposed from the module's (D, 1, K))
    const T* bias = nullptr;  // (D) optional
    IO* y = nullptr;          // (B, L, D)
    // Backward.
    const IO* dy = nullptr;   int64_t dySB = 0, dySL = 0;
    IO* dx = nullptr;         // (B, L, D)
    T* dwPart = nullptr;      // (tasks, K, D), caller sums over tasks
    T* dbPart = nullptr;      // (tasks, D) when bias
};

template <typename T, typename IO = T>
struct ConvKernelSet {
    int lanes = 1;
    int64_t (*tasks)(const ConvArgs<T, IO>&) = nullptr;  // both passes: [0, tasks(a))
    void (*forward)(const ConvArgs<T, IO>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
    void (*backward)(const ConvArgs<T, IO>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
};

ConvKernelSet<float> convKernelsF32();
ConvKernelSet<float, Bf16> convKernelsBf16();
ConvKernelSet<double> convKernelsF64();

}  // namespace mts::scan_cpu

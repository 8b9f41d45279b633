#pragma once
// Raw-pointer interface between the LibTorch side of the fused CPU SSD (ssd_cpu.cpp) and its
// per-ISA kernels (ssd_cpu_isa.cpp, ssd_cpu_kernel.h). Private to mts_core.
#include <cstdint>

#include "kernels/scan_cpu_args.h"

namespace mts::ssd_cpu {

using scan_cpu::Bf16;

/// T: compute type (float, double); IO: storage of x, Bm, Cm, y and their gradients (T, or
/// Bf16 with T = float). dt, A, D, states and their gradients are T.
/// Work item = (batch row b, group g, head split s): heads [g*hg + s*hs, + hs) of the group.
template <typename T, typename IO = T>
struct SsdArgs {
    int64_t B = 0, L = 0, H = 0, P = 0, G = 0, N = 0, Q = 64;
    int64_t splits = 1;  // head splits per group (hs = hg / splits heads per item)
    // (B, L, H, P) / (B, L, G, N): element [b, t, h, p] at b*sB + t*sL + h*sH + p (last dim contiguous).
    const IO* x = nullptr;  int64_t xSB = 0, xSL = 0, xSH = 0;
    const IO* Bm = nullptr; int64_t bSB = 0, bSL = 0, bSG = 0;
    const IO* Cm = nullptr; int64_t cSB = 0, cSL = 0, cSG = 0;
    const T* dt = nullptr;  // (B, L, H) contiguous
    const T* A = nullptr;   // (H)
    const T* D = nullptr;   // (H) optional
    const T* h0 = nullptr;  // (B, H, P, N) contiguous, optional
    // Forward outputs.
    IO* y = nullptr;            // (B, L, H, P) contiguous
    T* hLast = nullptr;         // (B, H, P, N) optional
    T* states = nullptr;        // (B, H, chunks, N, P): the state entering each chunk, optional
    // Backward.
    const IO* dy = nullptr;     // (B, L, H, P) contiguous
    const T* dhLast = nullptr;  // (B, H, P, N) optional
    IO* dx = nullptr;           // (B, L, H, P)
    T* ddt = nullptr;           // (B, L, H)
    T* dBPart = nullptr;        // (splits, B, L, G, N): per head split, summed by the caller
    T* dCPart = nullptr;        // (splits, B, L, G, N)
    T* dAPart = nullptr;        // (B, H)
    T* dDPart = nullptr;        // (B, H) when D
    T* dh0 = nullptr;           // (B, H, P, N) when h0
};

template <typename T, typename IO = T>
struct SsdKernelSet {
    void (*forward)(const SsdArgs<T, IO>&, int64_t itemBegin, int64_t itemEnd) = nullptr;
    void (*backward)(const SsdArgs<T, IO>&, int64_t itemBegin, int64_t itemEnd) = nullptr;
};

/// Kernels for the scan's active ISA (scan_cpu::activeIsa()).
SsdKernelSet<float> ssdKernelsF32();
SsdKernelSet<float, Bf16> ssdKernelsBf16();
SsdKernelSet<double> ssdKernelsF64();


/// Gated RMSNorm (Mamba-2's norm before out_proj, norm_before_gate = False), per row and group
/// of K = dim / groups channels: g = y * silu(z), out = g / sqrt(mean_K(g^2) + eps) * w.
/// y, z, out and their gradients in IO; w, the saved 1/rms and dw in T.
template <typename T, typename IO = T>
struct GatedNormArgs {
    int64_t rows = 0, dim = 0, groups = 1, tasks = 1;
    T eps = T(1e-5);
    const IO* y = nullptr; int64_t ySR = 0;  // (rows, dim), row stride, last dim contiguous
    const IO* z = nullptr; int64_t zSR = 0;
    const T* w = nullptr;  // (dim)
    IO* out = nullptr;     // (rows, dim) contiguous
    T* rstd = nullptr;     // (rows, groups)
    const IO* dout = nullptr;  // (rows, dim) contiguous
    IO* dy = nullptr;      // (rows, dim) contiguous
    IO* dz = nullptr;      // (rows, dim) contiguous
    T* dwPart = nullptr;   // (tasks, dim), summed by the caller
};

template <typename T, typename IO = T>
struct GatedNormKernelSet {
    void (*forward)(const GatedNormArgs<T, IO>&, int64_t rowBegin, int64_t rowEnd) = nullptr;
    // Tasks [0, a.tasks): task i takes rows [i rows / tasks, (i + 1) rows / tasks) and writes dwPart[i].
    void (*backward)(const GatedNormArgs<T, IO>&, int64_t taskBegin, int64_t taskEnd) = nullptr;
};

GatedNormKernelSet<float> gatedNormKernelsF32();
GatedNormKernelSet<float, Bf16> gatedNormKernelsBf16();
GatedNormKernelSet<double> gatedNormKernelsF64();

}  // namespace mts::ssd_cpu

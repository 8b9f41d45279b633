#pragma once
// Plain C++ launch interface of the CUDA kernels (selective_scan_cuda.cu, causal_conv_cuda.cu):
// raw pointers, sizes, strides and a stream; no LibTorch or CUDA headers, so kernels_cuda.cpp
// (LibTorch side) and the .cu files (nvcc, no LibTorch) meet here. Private to mts_core.
//
// Storage: the (B, L, D) activations and their gradients (u, delta, z, y, dy, du, ddelta, dz;
// the conv's x, left, y, dy, dx) are `io`; every other tensor, the state and the arithmetic are
// the compute type: double when io is F64, else float. Pointers are device pointers.
// Every launch returns 0 or the cudaError_t of the launch (see errorText); launches are
// asynchronous on `stream`.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace mts::scan_cuda {

enum class IoType : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3 };

struct ScanLaunchArgs {
    int64_t B = 0, L = 0, D = 0, N = 0;  // N <= kMaxState (64)
    int64_t chunk = 16;                   // 1 <= chunk <= kMaxChunk (16)
    bool softplus = true;
    IoType io = IoType::F32;
    // Inputs: (B, L, *) tensors are addressed p + b*sB + t*sL + i (last dim contiguous).
    const void* u = nullptr;     int64_t uSB = 0, uSL = 0;
    const void* delta = nullptr; int64_t dSB = 0, dSL = 0;
    const void* z = nullptr;     int64_t zSB = 0, zSL = 0;   // optional
    const void* Bm = nullptr;    int64_t bSB = 0, bSL = 0;
    const void* Cm = nullptr;    int64_t cSB = 0, cSL = 0;
    const void* A = nullptr;      // (D, N) contiguous
    const void* Dskip = nullptr;  // (D) optional
    const void* bias = nullptr;   // (D) optional
    const void* h0 = nullptr;     // (B, D, N) contiguous, optional
    // Forward outputs.
    void* y = nullptr;            // (B, L, D) contiguous
    void* hLast = nullptr;        // (B, D, N) contiguous, optional
    void* chunkStates = nullptr;  // (B, ceil(L/chunk), N, D): written by forward, read by backward
    // Backward.
    const void* dy = nullptr;    int64_t dySB = 0, dySL = 0;
    const void* dhLast = nullptr;  // (B, D, N) contiguous, optional
    void* du = nullptr;          // (B, L, D) contiguous
    void* ddelta = nullptr;      // (B, L, D) contiguous
    void* dz = nullptr;          // (B, L, D) contiguous, when z
    void* dB = nullptr;          // (B, L, N) contiguous, zeroed by the caller (atomic sums)
    void* dC = nullptr;          // (B, L, N) idem
    void* dA = nullptr;          // (D, N) zeroed (summed over B)
    void* dD = nullptr;          // (D) zeroed, when Dskip
    void* dBias = nullptr;       // (D) zeroed, when bias
    void* dh0 = nullptr;         // (B, D, N), optional
};

/// Forward: y, hLast (if set), chunkStates (if set). Grid (ceil(D / 32), B), 32 threads.
int scanForward(const ScanLaunchArgs& a, cudaStream_t stream);
/// Backward (a.chunkStates from the forward with the same chunk). Same grid.
int scanBackward(const ScanLaunchArgs& a, cudaStream_t stream);

struct ConvLaunchArgs {
    int64_t B = 0, L = 0, D = 0, K = 0;  // 1 <= K <= kConvMaxWidth (4)
    bool silu = true;
    IoType io = IoType::F32;
    const void* x = nullptr;    int64_t xSB = 0, xSL = 0;  // (B, L, D), last dim contiguous
    const void* left = nullptr;  // (B, K-1, D) contiguous, optional
    const void* w = nullptr;     // (K, D) contiguous (taps-major)
    const void* bias = nullptr;  // (D) optional
    void* y = nullptr;           // (B, L, D) contiguous
    const void* dy = nullptr;   int64_t dySB = 0, dySL = 0;
    void* dx = nullptr;          // (B, L, D) contiguous
    void* dw = nullptr;          // (K, D) zeroed by the caller (atomic sums)
    void* dBias = nullptr;       // (D) zeroed, when bias
};

int convForward(const ConvLaunchArgs& a, cudaStream_t stream);
int convBackward(const ConvLaunchArgs& a, cudaStream_t stream);

/// cudaGetErrorString of a launch's return value.
const char* errorText(int code);

}  // namespace mts::scan_cuda

#pragma once
// Batch-1 decoding kernels on raw fp32 vectors: matrix-vector products over weights packed once
// in fp32, bf16, f16 or 8-bit blocks (Q8_0: llama.cpp's block_q8_0 layout, 32 int8 values and
// one f16 scale per block), and the fused per-token pieces of a Mamba layer (RMSNorm, causal-conv
// state update, selective-state update with gate). No LibTorch op chains, no temporaries.
//
// Threading: matvec() splits the rows over LibTorch's intra-op threads (at::parallel_for);
// the other functions run on the calling thread. A PackedMatrix is immutable after packing and
// may be shared by threads. The ISA (AVX2 + F16C, or generic C++) follows
// scan_cpu::activeIsa(), so setIsaOverride("generic") also selects the generic decode kernels.
#include <cstdint>
#include <string>
#include <vector>

namespace mts::decode {

enum class WeightType { F32, Bf16, F16, Q8_0 };

std::string toString(WeightType t);  // "fp32", "bf16", "f16", "int8"
/// Parses "fp32" | "bf16" | "f16" | "int8" (also "q8_0"); throws ConfigError otherwise.
WeightType weightTypeFromString(const std::string& s);

constexpr int64_t kQ8Block = 32;        // values per Q8_0 block
constexpr int64_t kQ8BlockBytes = 34;   // f16 scale + 32 int8

/// A (rows, cols) row-major matrix in one of the weight types. Q8_0 rows are padded with zeros
/// to a multiple of 32 columns (paddedCols); the other types store exactly cols per row.
struct PackedMatrix {
    WeightType type = WeightType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<uint8_t> data;  // rows * rowBytes()

    int64_t paddedCols() const { return type == WeightType::Q8_0 ? (cols + kQ8Block - 1) / kQ8Block * kQ8Block : cols; }
    int64_t rowBytes() const;
    int64_t bytes() const { return static_cast<int64_t>(data.size()); }
};

/// Packs a row-major fp32 (rows, cols) matrix. bf16/f16 round to nearest even; Q8_0 uses
/// scale = max|w| / 127 per block of 32 (stored as f16) and q = round(w / scale).
PackedMatrix packMatrix(const float* w, int64_t rows, int64_t cols, WeightType type);
/// Wraps already-quantized Q8_0 bytes (rows * ceil(cols/32) * 34). Throws ConfigError naming
/// `what` when the size does not match or a block scale is not finite.
PackedMatrix adoptQ8_0(std::vector<uint8_t> bytes, int64_t rows, int64_t cols, const std::string& what);

/// Row r of the matrix as fp32 (cols values): the embedding lookup.
void unpackRow(const PackedMatrix& m, int64_t r, float* out);

/// y[r] = sum_c m[r, c] * x[c] for r in [0, rows). x: (cols) fp32, y: (rows) fp32.
/// Q8_0 quantizes x to Q8_0 blocks as well and accumulates int8 x int8 products in int32
/// (as llama.cpp does); the others widen the weights to fp32 and accumulate in fp32.
void matvec(const PackedMatrix& m, const float* x, float* y);

/// y = weight * x / sqrt(mean(x^2) + eps); n values (fp32 in, fp32 out; y may alias x).
void rmsNorm(const float* x, const float* weight, float eps, float* y, int64_t n);

/// y = x * sigmoid(x), n values (y may alias x).
void silu(const float* x, float* y, int64_t n);

/// One token of the causal depthwise conv with its state: window = [state (di, k-1), x (di)];
/// y[i] = sum_j w[i, j] * window[i, j] + bias[i] (bias may be null); state shifts left by one
/// and takes x. w: (di, k), state: (di, k-1) fp32 row-major.
void convStep(const float* x, const float* w, const float* bias, float* state, float* y, int64_t di, int64_t k);

/// One token of the selective scan for one layer, in place on h (di, n):
///   delta = softplus(deltaRaw + deltaBias)        (di)
///   h[i, :] = exp(delta[i] * A[i, :]) * h[i, :] + delta[i] * u[i] * B
///   y[i] = (h[i, :] . C + Dskip[i] * u[i]) * silu(z[i])      (z may be null: no gate)
/// A: (di, n) (already -exp(A_log)), B, C: (n), u, z, deltaRaw, deltaBias, Dskip: (di).
/// scratch: at least di * n + 2 * di floats.
void ssmStep(const float* u, const float* deltaRaw, const float* deltaBias, const float* A, const float* B,
             const float* C, const float* Dskip, const float* z, float* h, float* y, int64_t di, int64_t n,
             float* scratch);

/// One token of Mamba-2's SSD recurrence for one layer, in place on S (H, P, N):
///   S[h, p, :] = exp(dt[h] * A[h]) * S[h, p, :] + dt[h] * x[h, p] * B[g, :]     g = h / (H / G)
///   y[h, p]    = S[h, p, :] . C[g, :] + D[h] * x[h, p]
/// x, y: (H, P); dt (already softplus'd), A (already -exp(A_log)), D: (H); B, C: (G, N); G
/// divides H. The update over N is vectorised (AVX2 + FMA or generic C++, as matvec).
void ssdStateStep(const float* x, const float* dt, const float* A, const float* B, const float* C, const float* D,
                  float* S, float* y, int64_t heads, int64_t headDim, int64_t groups, int64_t n);

}  // namespace mts::decode

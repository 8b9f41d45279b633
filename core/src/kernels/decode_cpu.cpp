// Batch-1 decoding kernels: packing, the threaded matvec over the per-ISA row kernels, and the
// fused per-token pieces of a Mamba layer (see decode_cpu.h).
#include "mts/core/kernels/decode_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "kernels/decode_cpu_isa.h"
#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/runtime/errors.h"

namespace mts::decode {

namespace {

uint16_t floatToBf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(bits >> 16);
}

// One Q8_0 block from `n` <= 32 values (the rest zero): llama.cpp's quantize_row_q8_0.
void quantizeBlock(const float* v, int64_t n, uint8_t* out) {
    float amax = 0.0f;
    for (int64_t j = 0; j < n; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const uint16_t dh = isa::floatToHalf(d);
    std::memcpy(out, &dh, 2);
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int64_t j = 0; j < kQ8Block; ++j) {
        const float q = j < n ? std::nearbyint(v[j] * id) : 0.0f;
        out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
    }
}

// Rows per parallel task: at least 512 KiB of weights, so the small products (x_proj, dt_proj)
// run inline. Waking the other threads costs tens of microseconds on a busy machine: with
// 64 KiB tasks a 4-layer test model decoded at 0.44 ms/token instead of 0.02 once the OpenMP
// workers had gone to sleep.
int64_t grainRows(const PackedMatrix& m) { return std::max<int64_t>(1, (512 << 10) / std::max<int64_t>(1, m.rowBytes())); }

}  // namespace

std::string toString(WeightType t) {
    switch (t) {
        case WeightType::F32: return "fp32";
        case WeightType::Bf16: return "bf16";
        case WeightType::F16: return "f16";
        case WeightType::Q8_0: return "int8";
    }
    return "unknown";
}

WeightType weightTypeFromString(const std::string& s) {
    if (s == "fp32" || s == "f32") return WeightType::F32;
    if (s == "bf16") return WeightType::Bf16;
    if (s == "f16" || s == "fp16") return WeightType::F16;
    if (s == "int8" || s == "q8_0") return WeightType::Q8_0;
    throw ConfigError(fmt::format("weights: '{}' is not fp32, bf16, f16 or int8", s));
}

int64_t PackedMatrix::rowBytes() const {
    switch (type) {
        case WeightType::F32: return cols * 4;
        case WeightType::Bf16:
        case WeightType::F16: return cols * 2;
        case WeightType::Q8_0: return paddedCols() / kQ8Block * kQ8BlockBytes;
    }
    return 0;
}

PackedMatrix packMatrix(const float* w, int64_t rows, int64_t cols, WeightType type) {
    PackedMatrix m;
    m.type = type;
    m.rows = rows;
    m.cols = cols;
    m.data.resize(static_cast<size_t>(rows * m.rowBytes()));
    at::parallel_for(0, rows, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* src = w + r * cols;
            uint8_t* dst = m.data.data() + r * m.rowBytes();
            switch (type) {
                case WeightType::F32: std::memcpy(dst, src, static_cast<size_t>(cols) * 4); break;
                case WeightType::Bf16:
                    for (int64_t c = 0; c < cols; ++c) {
                        const uint16_t v = floatToBf16(src[c]);
                        std::memcpy(dst + 2 * c, &v, 2);
                    }
                    break;
                case WeightType::F16:
                    for (int64_t c = 0; c < cols; ++c) {
                        const uint16_t v = isa::floatToHalf(src[c]);
                        std::memcpy(dst + 2 * c, &v, 2);
                    }
                    break;
                case WeightType::Q8_0:
                    for (int64_t c = 0, b = 0; c < cols; c += kQ8Block, ++b)
                        quantizeBlock(src + c, std::min(kQ8Block, cols - c), dst + b * kQ8BlockBytes);
                    break;
            }
        }
    });
    return m;
}

PackedMatrix adoptQ8_0(std::vector<uint8_t> bytes, int64_t rows, int64_t cols, const std::string& what) {
    PackedMatrix m;
    m.type = WeightType::Q8_0;
    m.rows = rows;
    m.cols = cols;
    if (rows < 0 || cols <= 0) throw ConfigError(fmt::format("{}: bad Q8_0 shape ({}, {})", what, rows, cols));
    const int64_t expected = rows * m.rowBytes();
    if (static_cast<int64_t>(bytes.size()) != expected) {
        throw ConfigError(fmt::format("{}: Q8_0 data of a ({}, {}) matrix must be {} bytes, got {}", what, rows,
                                      cols, expected, bytes.size()));
    }
    for (int64_t off = 0; off < expected; off += kQ8BlockBytes) {
        uint16_t d;
        std::memcpy(&d, bytes.data() + off, 2);
        if (!std::isfinite(isa::halfToFloat(d))) {
            throw ConfigError(fmt::format("{}: Q8_0 block {} has a non-finite scale", what, off / kQ8BlockBytes));
        }
    }
    m.data = std::move(bytes);
    return m;
}

void unpackRow(const PackedMatrix& m, int64_t r, float* out) {
    const uint8_t* row = m.data.data() + r * m.rowBytes();
    switch (m.type) {
        case WeightType::F32: std::memcpy(out, row, static_cast<size_t>(m.cols) * 4); return;
        case WeightType::Bf16:
            for (int64_t c = 0; c < m.cols; ++c) {
                uint16_t v;
                std::memcpy(&v, row + 2 * c, 2);
                const uint32_t bits = static_cast<uint32_t>(v) << 16;
                std::memcpy(out + c, &bits, 4);
            }
            return;
        case WeightType::F16:
            for (int64_t c = 0; c < m.cols; ++c) {
                uint16_t v;
                std::memcpy(&v, row + 2 * c, 2);
                out[c] = isa::halfToFloat(v);
            }
            return;
        case WeightType::Q8_0:
            for (int64_t c = 0; c < m.cols; ++c) {
                const uint8_t* b = row + (c / kQ8Block) * kQ8BlockBytes;
                uint16_t d;
                std::memcpy(&d, b, 2);
                out[c] = isa::halfToFloat(d) * static_cast<float>(static_cast<int8_t>(b[2 + c % kQ8Block]));
            }
            return;
    }
}

void matvec(const PackedMatrix& m, const float* x, float* y) {
    const isa::RowKernels k = isa::rowKernels();
    isa::RowKernel kernel = k.f32;
    const void* xin = x;
    thread_local std::vector<uint8_t> xq;  // x as Q8_0 blocks, reused between calls
    thread_local std::vector<float> xScales;
    isa::Q8Vector xVec{nullptr, nullptr};
    switch (m.type) {
        case WeightType::F32: kernel = k.f32; break;
        case WeightType::Bf16: kernel = k.bf16; break;
        case WeightType::F16: kernel = k.f16; break;
        case WeightType::Q8_0: {
            kernel = k.q8;
            const int64_t padded = m.paddedCols(), blocks = padded / kQ8Block;
            xq.resize(static_cast<size_t>(blocks * kQ8BlockBytes));
            xScales.resize(static_cast<size_t>(blocks));
            for (int64_t c = 0, b = 0; c < padded; c += kQ8Block, ++b) {
                quantizeBlock(x + c, std::max<int64_t>(0, std::min(kQ8Block, m.cols - c)), xq.data() + b * kQ8BlockBytes);
                uint16_t d;
                std::memcpy(&d, xq.data() + b * kQ8BlockBytes, 2);
                xScales[b] = isa::halfToFloat(d);
            }
            xVec = {xq.data(), xScales.data()};
            xin = &xVec;
            break;
        }
    }
    const int64_t cols = m.type == WeightType::Q8_0 ? m.paddedCols() : m.cols;
    const uint8_t* w = m.data.data();
    const int64_t rowBytes = m.rowBytes();
    at::parallel_for(0, m.rows, grainRows(m),
                     [&](int64_t r0, int64_t r1) { kernel(w, rowBytes, xin, y, r0, r1, cols); });
}

void rmsNorm(const float* x, const float* weight, float eps, float* y, int64_t n) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * weight[i];
}

void silu(const float* x, float* y, int64_t n) {
    thread_local std::vector<float> e;  // reused: no allocation per token
    if (static_cast<int64_t>(e.size()) < n) e.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) e[i] = -x[i];
    scan_cpu::vecExp(e.data(), e.data(), n);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + e[i]);
}

void convStep(const float* x, const float* w, const float* bias, float* state, float* y, int64_t di, int64_t k) {
    const int64_t s = k - 1;
    for (int64_t i = 0; i < di; ++i) {
        const float* wi = w + i * k;
        float* st = state + i * s;
        float acc = bias ? bias[i] : 0.0f;
        for (int64_t j = 0; j < s; ++j) acc += wi[j] * st[j];
        acc += wi[s] * x[i];
        for (int64_t j = 0; j + 1 < s; ++j) st[j] = st[j + 1];
        if (s > 0) st[s - 1] = x[i];
        y[i] = acc;
    }
}

void ssmStep(const float* u, const float* deltaRaw, const float* deltaBias, const float* A, const float* B,
             const float* C, const float* Dskip, const float* z, float* h, float* y, int64_t di, int64_t n,
             float* scratch) {
    float* dA = scratch;            // (di, n)
    float* delta = scratch + di * n;  // (di)
    float* gate = delta + di;         // (di)
    for (int64_t i = 0; i < di; ++i) delta[i] = deltaRaw[i] + (deltaBias ? deltaBias[i] : 0.0f);
    scan_cpu::vecSoftplus(delta, delta, di);
    for (int64_t i = 0; i < di; ++i)
        for (int64_t j = 0; j < n; ++j) dA[i * n + j] = delta[i] * A[i * n + j];
    scan_cpu::vecExp(dA, dA, di * n);
    if (z) silu(z, gate, di);
    for (int64_t i = 0; i < di; ++i) {
        const float du = delta[i] * u[i];
        float* hi = h + i * n;
        const float* ai = dA + i * n;
        float acc = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
            hi[j] = ai[j] * hi[j] + du * B[j];
            acc += hi[j] * C[j];
        }
        acc += Dskip[i] * u[i];
        y[i] = z ? acc * gate[i] : acc;
    }
}

void ssdStateStep(const float* x, const float* dt, const float* A, const float* B, const float* C, const float* D,
                  float* S, float* y, int64_t heads, int64_t headDim, int64_t groups, int64_t n) {
    const isa::SsdRowKernel row = isa::rowKernels().ssdRow;
    const int64_t headsPerGroup = heads / groups;
    for (int64_t h = 0; h < heads; ++h) {
        const float decay = std::exp(dt[h] * A[h]);
        const float* b = B + (h / headsPerGroup) * n;
        const float* c = C + (h / headsPerGroup) * n;
        for (int64_t p = 0; p < headDim; ++p) {
            const int64_t i = h * headDim + p;
            y[i] = row(S + i * n, b, c, decay, dt[h] * x[i], n) + D[h] * x[i];
        }
    }
}

}  // namespace mts::decode

// Matrix-vector row kernels for batch-1 decoding, once in AVX2 + FMA + F16C intrinsics and once
// in generic C++; the choice follows the scan's ISA (scan_cpu::activeIsa()). Raw pointers only.
#include "kernels/decode_cpu_isa.h"

#include <cmath>
#include <cstring>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MTS_DECODE_HAVE_AVX2 1
#else
#define MTS_DECODE_HAVE_AVX2 0
#endif

#include "mts/core/kernels/scan_cpu.h"

namespace mts::decode::isa {

float halfToFloat(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: value = mant * 2^-24
            const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
            std::memcpy(&bits, &v, 4);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToHalf(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
    if (ax < 0x38800000u) {  // below the smallest normal half: subnormal, round to nearest even
        float a;
        std::memcpy(&a, &ax, 4);
        const float q = std::nearbyint(a * 16777216.0f);  // units of 2^-24
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(q));
    }
    // normal: drop 13 mantissa bits with round to nearest even
    const uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

namespace {

inline float bf16ToFloat(uint16_t v) {
    const uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// ---- generic C++ ----

void genF32(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto* x = static_cast<const float*>(xv);
    for (int64_t r = r0; r < r1; ++r) {
        const auto* row = reinterpret_cast<const float*>(w + r * rowBytes);
        float acc[4] = {0, 0, 0, 0};
        int64_t c = 0;
        for (; c + 4 <= cols; c += 4)
            for (int j = 0; j < 4; ++j) acc[j] += row[c + j] * x[c + j];
        for (; c < cols; ++c) acc[0] += row[c] * x[c];
        y[r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
}

void genBf16(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto* x = static_cast<const float*>(xv);
    for (int64_t r = r0; r < r1; ++r) {
        const auto* row = reinterpret_cast<const uint16_t*>(w + r * rowBytes);
        float acc = 0;
        for (int64_t c = 0; c < cols; ++c) acc += bf16ToFloat(row[c]) * x[c];
        y[r] = acc;
    }
}

void genF16(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto* x = static_cast<const float*>(xv);
    for (int64_t r = r0; r < r1; ++r) {
        const auto* row = reinterpret_cast<const uint16_t*>(w + r * rowBytes);
        float acc = 0;
        for (int64_t c = 0; c < cols; ++c) acc += halfToFloat(row[c]) * x[c];
        y[r] = acc;
    }
}

void genQ8(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto& xq = *static_cast<const Q8Vector*>(xv);
    const int64_t blocks = cols / 32;
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w + r * rowBytes;
        float acc = 0;
        for (int64_t b = 0; b < blocks; ++b) {
            const uint8_t* wb = row + b * 34;
            const uint8_t* xb = xq.blocks + b * 34;
            uint16_t dw;
            std::memcpy(&dw, wb, 2);
            int32_t sum = 0;
            for (int j = 0; j < 32; ++j)
                sum += static_cast<int32_t>(static_cast<int8_t>(wb[2 + j])) * static_cast<int8_t>(xb[2 + j]);
            acc += halfToFloat(dw) * xq.scales[b] * static_cast<float>(sum);
        }
        y[r] = acc;
    }
}

float genSsdRow(float* s, const float* b, const float* c, float decay, float dtx, int64_t n) {
    float acc[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        for (int k = 0; k < 4; ++k) {
            s[j + k] = decay * s[j + k] + dtx * b[j + k];
            acc[k] += s[j + k] * c[j + k];
        }
    for (; j < n; ++j) {
        s[j] = decay * s[j] + dtx * b[j];
        acc[0] += s[j] * c[j];
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

#if MTS_DECODE_HAVE_AVX2
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

inline float hsum(__m256 v) {
    const __m128 lo = _mm256_castps256_ps128(v);
    const __m128 hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void avxF32(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto* x = static_cast<const float*>(xv);
    for (int64_t r = r0; r < r1; ++r) {
        const auto* row = reinterpret_cast<const float*>(w + r * rowBytes);
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(x + c), a0);
        float acc = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; ++c) acc += row[c] * x[c];
        y[r] = acc;
    }
}

inline __m256 loadBf16(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

inline __m256 loadF16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
void avx16(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto* x = static_cast<const float*>(xv);
    for (int64_t r = r0; r < r1; ++r) {
        const auto* row = reinterpret_cast<const uint16_t*>(w + r * rowBytes);
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            a0 = _mm256_fmadd_ps(Load(row + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(Load(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(Load(row + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(Load(row + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(Load(row + c), _mm256_loadu_ps(x + c), a0);
        float acc = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; ++c) acc += Scalar(row[c]) * x[c];
        y[r] = acc;
    }
}

inline __m256 q8BlockDot(const uint8_t* wb, const uint8_t* xb, __m256i ones) {
    const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 2));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
    // |w| (unsigned) times x with w's sign: maddubs needs an unsigned first operand.
    const __m256i aw = _mm256_sign_epi8(qw, qw);
    const __m256i sx = _mm256_sign_epi8(qx, qw);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
}

inline float q8Scale(const uint8_t* wb) {
    uint16_t dw;
    std::memcpy(&dw, wb, 2);
    return _cvtsh_ss(dw);
}

void avxQ8(const uint8_t* w, int64_t rowBytes, const void* xv, float* y, int64_t r0, int64_t r1, int64_t cols) {
    const auto& xq = *static_cast<const Q8Vector*>(xv);
    const int64_t blocks = cols / 32;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w + r * rowBytes;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t b = 0;
        for (; b + 2 <= blocks; b += 2) {  // two chains: the int->float->fma latency overlaps
            const uint8_t* wb = row + b * 34;
            const uint8_t* xb = xq.blocks + b * 34;
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(q8Scale(wb) * xq.scales[b]), q8BlockDot(wb, xb, ones), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(q8Scale(wb + 34) * xq.scales[b + 1]), q8BlockDot(wb + 34, xb + 34, ones),
                                   acc1);
        }
        if (b < blocks) {
            const uint8_t* wb = row + b * 34;
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(q8Scale(wb) * xq.scales[b]), q8BlockDot(wb, xq.blocks + b * 34, ones),
                                   acc0);
        }
        y[r] = hsum(_mm256_add_ps(acc0, acc1));
    }
}

float avxSsdRow(float* s, const float* b, const float* c, float decay, float dtx, int64_t n) {
    const __m256 vd = _mm256_set1_ps(decay), vx = _mm256_set1_ps(dtx);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m256 s0 = _mm256_fmadd_ps(vx, _mm256_loadu_ps(b + j), _mm256_mul_ps(vd, _mm256_loadu_ps(s + j)));
        const __m256 s1 = _mm256_fmadd_ps(vx, _mm256_loadu_ps(b + j + 8), _mm256_mul_ps(vd, _mm256_loadu_ps(s + j + 8)));
        _mm256_storeu_ps(s + j, s0);
        _mm256_storeu_ps(s + j + 8, s1);
        a0 = _mm256_fmadd_ps(s0, _mm256_loadu_ps(c + j), a0);
        a1 = _mm256_fmadd_ps(s1, _mm256_loadu_ps(c + j + 8), a1);
    }
    for (; j + 8 <= n; j += 8) {
        const __m256 s0 = _mm256_fmadd_ps(vx, _mm256_loadu_ps(b + j), _mm256_mul_ps(vd, _mm256_loadu_ps(s + j)));
        _mm256_storeu_ps(s + j, s0);
        a0 = _mm256_fmadd_ps(s0, _mm256_loadu_ps(c + j), a0);
    }
    float acc = hsum(_mm256_add_ps(a0, a1));
    for (; j < n; ++j) {
        s[j] = decay * s[j] + dtx * b[j];
        acc += s[j] * c[j];
    }
    return acc;
}

#pragma GCC pop_options

bool cpuHasAvx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
#endif

}  // namespace

RowKernels rowKernels() {
#if MTS_DECODE_HAVE_AVX2
    static const bool avx2 = cpuHasAvx2();
    if (avx2 && scan_cpu::activeIsa() != "generic") {
        return {avxF32, avx16<loadBf16, bf16ToFloat>, avx16<loadF16, halfToFloat>, avxQ8, avxSsdRow, "avx2"};
    }
#endif
    return {genF32, genBf16, genF16, genQ8, genSsdRow, "generic"};
}

}  // namespace mts::decode::isa

// Vector math for the CPU kernels, written once with GCC/Clang vector extensions and compiled
// several times (AVX-512, AVX2, baseline SSE2) by scan_cpu_isa.cpp.
//
// NO include guard on purpose: scan_cpu_isa.cpp includes this file once per instruction-set
// region (inside `#pragma GCC target(...)` and a distinct namespace), so every function here
// is compiled for that region's ISA. Do not include it anywhere else.
//
// Accuracy (measured by tests/core/test_vec_exp.cpp against std::exp / std::log1p over a dense
// grid; stated bounds have margin, see kVecExpMaxRelErrorF32 in scan_cpu.h):
//   vexp<float>:     |rel err| < 4e-7 (~3 ulp) on [-87.3, 88.37]; below -87.33 (true value
//                    < 1.2e-38) a subnormal or 0 (see below), clamps to e^88.37 (2.4e38) above.
//   vexp<double>:    |rel err| < 1e-15 on [-708, 709]; 0 below -708.39.
//   vlog1p01:        log1p(y) for y in [0, 1]; float < 4e-7, double < 1e-15 relative.
// Method: exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 (ln 2 split into a high
// part exact in the type and a low correction), exp(r) by its Taylor polynomial on
// |r| <= ln2/2, 2^k built in the exponent bits (AVX-512: vrndscaleps + vscalefps). The
// polynomial is, for float, the degree-5 minimax fit of e^r for relative error on that
// interval (Remez exchange: |err| 7.5e-8, about one ulp; the measured total stays under the
// stated 4e-7), and for double the degree-13 Taylor series (< 0.2 ulp).
// Below the normal range (x < -87.33) the AVX-512 path returns the correctly scaled subnormal
// (vscalefps), exactly 0 from x <= -104; the other paths flush to 0 there. log1p(y) = 2 atanh(s), s = y / (2 + y) in [0, 1/3], odd series in s.

template <typename T, int W>
struct VecT;

template <int W>
struct VecT<float, W> {
    typedef float V __attribute__((vector_size(sizeof(float) * W)));
    typedef int32_t I __attribute__((vector_size(sizeof(int32_t) * W)));
    static constexpr float kMaxArg = 88.37f;  // round(x / ln2) <= 127: 2^k stays finite
    static constexpr float kMinArg = -87.33f;
    static constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23
    static constexpr int kMantBits = 23;
    static constexpr int kBias = 127;
    static constexpr int kExpTerms = 5;  // degree of the polynomial
    static constexpr float kScalefMinArg = -104.0f;  // AVX-512 path: 2^-150 and below round to 0
    static constexpr int kLogTerms = 8;  // s^1 .. s^15: (1/9)^8 / 17 < 1e-9
    static constexpr float kLn2Hi = 0.693145751953125f;  // 16 significant bits: k * hi exact
    static constexpr float kLn2Lo = 1.4286068203094173e-06f;
};

template <int W>
struct VecT<double, W> {
    typedef double V __attribute__((vector_size(sizeof(double) * W)));
    typedef int64_t I __attribute__((vector_size(sizeof(int64_t) * W)));
    static constexpr double kMaxArg = 709.0;
    static constexpr double kMinArg = -708.39;
    static constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52
    static constexpr int kMantBits = 52;
    static constexpr int kBias = 1023;
    static constexpr int kExpTerms = 13;
    static constexpr int kLogTerms = 17;  // (1/9)^17 / 35 < 1e-17
    static constexpr double kLn2Hi = 0.6931471803691238;  // 32 significant bits
    static constexpr double kLn2Lo = 1.9082149292705877e-10;
};

template <typename T>
struct InvFactorials {
    T v[20];
    constexpr InvFactorials() : v() {
        double f = 1;
        for (int i = 0; i < 20; ++i) {
            if (i > 0) f *= i;
            v[i] = T(1.0 / f);
        }
    }
    constexpr T operator[](int i) const { return v[i]; }
};
template <typename T>
constexpr InvFactorials<T> kInvFactorial{};

// Coefficients c0..c_deg of the exp polynomial on |r| <= ln2/2 (see the header comment).
template <typename T>
struct ExpPoly {
    static constexpr T c(int i) { return kInvFactorial<T>[i]; }
};
template <>
struct ExpPoly<float> {
    static constexpr float kC[6] = {1.0000001192092896f, 0.9999997019767761f, 0.49998894333839417f,
                                    0.16667574644088745f, 0.04191538318991661f, 0.008297654800117016f};
    static constexpr float c(int i) { return kC[i]; }
};

template <typename T, int W>
inline typename VecT<T, W>::V vsplat(T v) {
    typename VecT<T, W>::V z = {};
    return z + v;
}

template <typename T, int W>
inline typename VecT<T, W>::V vload(const T* p) {
    typename VecT<T, W>::V v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

template <typename T, int W>
inline void vstore(T* p, typename VecT<T, W>::V v) {
    std::memcpy(p, &v, sizeof(v));
}

/// Loads n <= W lanes (the rest zero): the channel tail of a block.
template <typename T, int W>
inline typename VecT<T, W>::V vloadN(const T* p, int n) {
    if (n == W) return vload<T, W>(p);
    typename VecT<T, W>::V v = {};
    for (int i = 0; i < n; ++i) v[i] = p[i];
    return v;
}

template <typename T, int W>
inline void vstoreN(T* p, typename VecT<T, W>::V v, int n) {
    if (n == W) return vstore<T, W>(p, v);
    for (int i = 0; i < n; ++i) p[i] = v[i];
}

// Integer vectors for the bfloat16 conversions (a dependent vector_size needs a class scope).
template <int W>
struct Bf16Vec {
    typedef uint16_t H __attribute__((vector_size(2 * W)));
    typedef uint32_t U __attribute__((vector_size(4 * W)));
};

/// Loads n <= W lanes stored as T, or as bfloat16 (T = float): a bf16 is the top half of the
/// float, so widening is exact.
template <typename T, int W>
inline typename VecT<T, W>::V vloadAs(const T* p, int n) {
    return vloadN<T, W>(p, n);
}
template <typename T, int W>
inline typename VecT<T, W>::V vloadAs(const Bf16* p, int n) {
    static_assert(std::is_same_v<T, float>, "bf16 storage is read into float");
#if defined(__x86_64__)
    if constexpr (W == 16) {
        if (n == W) {
            // (The all-lanes masked forms: GCC 12's unmasked ones warn about their undefined source.)
            const __mmask16 all = 0xFFFF;
            const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
            const __m512i wide = _mm512_maskz_cvtepu16_epi32(all, h);
            return (typename VecT<T, W>::V)_mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, wide, 16));
        }
    }
#endif
    using H = typename Bf16Vec<W>::H;
    using U = typename Bf16Vec<W>::U;
    H h = {};
    if (n == W) {
        std::memcpy(&h, p, sizeof(h));
    } else {
        for (int i = 0; i < n; ++i) h[i] = p[i].bits;
    }
    const U u = __builtin_convertvector(h, U) << 16;
    typename VecT<T, W>::V v;
    std::memcpy(&v, &u, sizeof(v));
    return v;
}

/// Stores n <= W lanes as T, or rounded to bfloat16 (round to nearest even, NaN kept a quiet
/// NaN: the rounding of c10::BFloat16, so the tensors match a .to(kBFloat16)).
template <typename T, int W>
inline void vstoreAs(T* p, typename VecT<T, W>::V v, int n) {
    vstoreN<T, W>(p, v, n);
}
template <typename T, int W>
inline void vstoreAs(Bf16* p, typename VecT<T, W>::V v, int n) {
    static_assert(std::is_same_v<T, float>, "bf16 storage is written from float");
#if defined(__x86_64__)
    if constexpr (W == 16) {
        if (n == W) {
            // Same rounding, as vpmovdw of the rounded words; NaN lanes blended to 0x7FC0.
            const __mmask16 all = 0xFFFF;
            const __m512 x = (__m512)v;
            const __m512i u = _mm512_castps_si512(x);
            const __m512i lsb = _mm512_maskz_and_epi32(all, _mm512_maskz_srli_epi32(all, u, 16), _mm512_set1_epi32(1));
            const __m512i biased = _mm512_maskz_add_epi32(all, u, _mm512_maskz_add_epi32(all, lsb, _mm512_set1_epi32(0x7FFF)));
            __m512i r = _mm512_maskz_srli_epi32(all, biased, 16);
            r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_maskz_cvtepi32_epi16(all, r));
            return;
        }
    }
#endif
    using U = typename Bf16Vec<W>::U;
    U u;
    std::memcpy(&u, &v, sizeof(u));
    const U rounded = (u + (((u >> 16) & 1u) + 0x7FFFu)) >> 16;
    const auto isNan = (u & 0x7FFFFFFFu) > 0x7F800000u;
    const U out = isNan ? U{} + 0x7FC0u : rounded;
    if (n == W) {
        const typename Bf16Vec<W>::H h = __builtin_convertvector(out, typename Bf16Vec<W>::H);
        std::memcpy(p, &h, sizeof(h));
    } else {
        for (int i = 0; i < n; ++i) p[i].bits = uint16_t(out[i]);
    }
}

/// vstoreN for data read back much later (the forward's saved chunk states, read by the
/// backward): AVX-512 float streams full aligned vectors past the caches (no read for
/// ownership, no eviction of the working set). Call vstreamFence() before the data is shared.
template <typename T, int W>
inline void vstoreStream(T* p, typename VecT<T, W>::V v, int n) {
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float> && W == 16) {
        if (n == W && (reinterpret_cast<uintptr_t>(p) & 63) == 0) {
            _mm512_stream_ps(p, (__m512)v);
            return;
        }
    }
#endif
    vstoreN<T, W>(p, v, n);
}

template <typename T, int W>
inline void vstreamFence() {
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float> && W == 16) _mm_sfence();
#endif
}

template <typename T, int W>
inline typename VecT<T, W>::V vmax0(typename VecT<T, W>::V x) {
    typename VecT<T, W>::V z = {};
    return x > z ? x : z;
}

template <typename T, int W>
inline typename VecT<T, W>::V vexp(typename VecT<T, W>::V x) {
    using P = VecT<T, W>;
    using V = typename P::V;
    using I = typename P::I;
    const V zero = {};
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float> && W == 16) {
        // AVX-512 (the only region with 16 float lanes): max/min keep a NaN input (they return
        // their second operand when either is NaN), rounding and 2^k are one instruction each.
        // (The all-lanes masked forms: GCC 12's unmasked ones warn about their undefined source.)
        const __mmask16 all = 0xFFFF;
        const __m512 xv = (__m512)x;
        const __m512 lo = _mm512_mask_max_ps(xv, all, _mm512_set1_ps(P::kScalefMinArg), xv);
        const __m512 xc = _mm512_mask_min_ps(lo, all, _mm512_set1_ps(P::kMaxArg), lo);
        const __m512 xl = _mm512_mul_ps(xc, _mm512_set1_ps(1.4426950408889634f));
        const __m512 k = _mm512_mask_roundscale_ps(xl, all, xl, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        V kv = (V)k;
        V r = (V)xc - kv * P::kLn2Hi;
        r = r - kv * P::kLn2Lo;
        V p = zero + ExpPoly<T>::c(P::kExpTerms);
        for (int i = P::kExpTerms - 1; i >= 0; --i) p = p * r + ExpPoly<T>::c(i);
        return (V)_mm512_mask_scalef_ps((__m512)p, all, (__m512)p, k);
    }
#endif
    V xc = x < P::kMinArg ? zero + P::kMinArg : x;
    xc = xc > P::kMaxArg ? zero + P::kMaxArg : xc;
    // k = round(x / ln2) by the add-magic trick (round-to-nearest of the FPU).
    V t = xc * T(1.4426950408889634) + P::kRoundMagic;
    V k = t - P::kRoundMagic;
    V r = xc - k * P::kLn2Hi;
    r = r - k * P::kLn2Lo;
    // Horner on the Taylor series: 1 + r(1 + r/2(1 + r/3(...))).
    V p = zero + ExpPoly<T>::c(P::kExpTerms);
    for (int i = P::kExpTerms - 1; i >= 0; --i) p = p * r + ExpPoly<T>::c(i);
    I ki = __builtin_convertvector(k, I);
    I bits = (ki + P::kBias) << P::kMantBits;
    V scale = (V)bits;
    V out = p * scale;
    return x < P::kMinArg ? zero : out;
}

// Coefficients of 2^f = e^(f ln2) on |f| <= 1/2: the exp polynomial's, times ln2^i (the same
// fit, so the same error).
template <typename T>
struct Exp2Poly {
    static constexpr T c(int i) {
        double s = 1;
        for (int j = 0; j < i; ++j) s *= 0.6931471805599453;
        return T(double(ExpPoly<T>::c(i)) * s);
    }
};

/// 2^x, for the scan's decays e^(dt A) = 2^(dt A log2 e) with A log2 e precomputed: the
/// fraction f = x - round(x) is exact, so there is no ln2 reduction step (two fewer
/// multiply-adds than vexp). Same accuracy as vexp for e^(x ln2), same clamping.
template <typename T, int W>
inline typename VecT<T, W>::V vexp2(typename VecT<T, W>::V x) {
    using P = VecT<T, W>;
    using V = typename P::V;
    using I = typename P::I;
    const V zero = {};
    constexpr T kLog2e = T(1.4426950408889634);
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float> && W == 16) {
        const __mmask16 all = 0xFFFF;
        const __m512 xv = (__m512)x;
        const __m512 lo = _mm512_mask_max_ps(xv, all, _mm512_set1_ps(P::kScalefMinArg * kLog2e), xv);
        const __m512 xc = _mm512_mask_min_ps(lo, all, _mm512_set1_ps(P::kMaxArg * kLog2e), lo);
        const __m512 k = _mm512_mask_roundscale_ps(xc, all, xc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const V f = (V)xc - (V)k;
        V p = zero + Exp2Poly<T>::c(P::kExpTerms);
        for (int i = P::kExpTerms - 1; i >= 0; --i) p = p * f + Exp2Poly<T>::c(i);
        return (V)_mm512_mask_scalef_ps((__m512)p, all, (__m512)p, k);
    }
#endif
    V xc = x < P::kMinArg * kLog2e ? zero + P::kMinArg * kLog2e : x;
    xc = xc > P::kMaxArg * kLog2e ? zero + P::kMaxArg * kLog2e : xc;
    const V k = (xc + P::kRoundMagic) - P::kRoundMagic;
    const V f = xc - k;
    V p = zero + Exp2Poly<T>::c(P::kExpTerms);
    for (int i = P::kExpTerms - 1; i >= 0; --i) p = p * f + Exp2Poly<T>::c(i);
    I ki = __builtin_convertvector(k, I);
    I bits = (ki + P::kBias) << P::kMantBits;
    V out = p * (V)bits;
    return x < P::kMinArg * kLog2e ? zero : out;
}

/// log(1 + y) for y in [0, 1].
template <typename T, int W>
inline typename VecT<T, W>::V vlog1p01(typename VecT<T, W>::V y) {
    using P = VecT<T, W>;
    using V = typename P::V;
    V s = y / (y + T(2));
    V s2 = s * s;
    V p = {};
    for (int i = P::kLogTerms - 1; i >= 0; --i) p = p * s2 + T(1) / T(2 * i + 1);
    return T(2) * s * p;
}

/// softplus(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) (no overflow).
template <typename T, int W>
inline typename VecT<T, W>::V vsoftplus(typename VecT<T, W>::V x) {
    using V = typename VecT<T, W>::V;
    const V zero = {};
    V ax = x < zero ? -x : x;
    return vmax0<T, W>(x) + vlog1p01<T, W>(vexp<T, W>(-ax));
}

/// 1 / (1 + e^-x); e^-x saturates at e^88.7 for float, giving ~0 (not NaN) far left.
template <typename T, int W>
inline typename VecT<T, W>::V vsigmoid(typename VecT<T, W>::V x) {
    return T(1) / (T(1) + vexp<T, W>(-x));
}

/// softplus(x) and its derivative sigmoid(x) from one exponential: with e = e^-|x|,
/// sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) below.
template <typename T, int W>
inline typename VecT<T, W>::V vsoftplusSigmoid(typename VecT<T, W>::V x, typename VecT<T, W>::V* sig) {
    using V = typename VecT<T, W>::V;
    const V zero = {};
    const V ax = x < zero ? -x : x;
    const V e = vexp<T, W>(-ax);
    const V inv = T(1) / (T(1) + e);
    *sig = x < zero ? e * inv : inv;
    return vmax0<T, W>(x) + vlog1p01<T, W>(e);
}

/// Horizontal sum of the first n lanes.
template <typename T, int W>
inline T vsum(typename VecT<T, W>::V v, int n = W) {
    T s = 0;
    for (int i = 0; i < n; ++i) s += v[i];
    return s;
}

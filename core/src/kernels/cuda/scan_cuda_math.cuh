#pragma once
// The per-thread math of the CUDA selective scan and causal conv (selective_scan_cuda.cu,
// causal_conv_cuda.cu), as __host__ __device__ inline templates so that the same code runs in
// the kernels and, compiled as plain C++ without nvcc, in the CPU emulation test
// (tests/core/test_scan_cuda_emulation.cpp). No CUDA or LibTorch types here.
//
// Scan design (the shape of mamba_ssm's kernel): one thread block per (sequence b, group of
// kScanThreads channels); each thread owns one channel d, its state h[0..N) in registers (fp32,
// or fp64 for the gradient tests). The sequence is walked in chunks of `chunk` <= kMaxChunk
// steps: the block stages the chunk's u, delta, z (, dy) rows of its channels and the chunk's
// B, C rows (shared by all channels) in shared memory, converted to the compute type T. Forward
// writes only the state entering each chunk (chunkStates, (B, nChunks, N, D)). Backward walks
// the chunks last to first: each thread recomputes its channel's states over the chunk from the
// saved boundary state (into a per-thread buffer), then runs the reverse recurrence with the
// state gradient dh in registers. Gradients shared by the block's channels (dB, dC: summed
// over channels) go through the Add functor (a warp sum + one atomicAdd on the GPU, a plain +=
// in the emulation); dA, dD, dbias are accumulated per thread over the sequence and added once.
//
// Staged arrays of one thread are addressed p[i * stride] (stride = the block's channels);
// the B / C rows of the chunk are dense (len, N).
#include <cmath>

#ifdef __CUDACC__
#define MTS_HD __host__ __device__ __forceinline__
#else
#define MTS_HD inline
#endif
#ifdef __CUDA_ARCH__  // nvcc's device pass (the host compiler would warn about the pragma)
#define MTS_UNROLL _Pragma("unroll")
#else
#define MTS_UNROLL
#endif

namespace mts::scan_cuda {

/// Channels (threads) per block of the scan: one warp, so the block's reductions are warp sums.
constexpr int kScanThreads = 32;
/// Largest chunk (steps per staged chunk; sizes the shared and per-thread buffers).
constexpr int kMaxChunk = 16;
/// Largest d_state the CUDA scan takes (register arrays are instantiated for 16 and 64).
constexpr int kMaxState = 64;
/// Channels per block and time steps per thread of the causal conv.
constexpr int kConvThreads = 128;
constexpr int kConvTile = 32;
/// Largest kernel width of the CUDA causal conv.
constexpr int kConvMaxWidth = 4;

MTS_HD float expT(float x) { return expf(x); }
MTS_HD double expT(double x) { return exp(x); }
MTS_HD float log1pT(float x) { return log1pf(x); }
MTS_HD double log1pT(double x) { return log1p(x); }

/// softplus with LibTorch's threshold (identity above 20).
template <typename T>
MTS_HD T softplus(T x) {
    return x > T(20) ? x : log1pT(expT(x));
}
template <typename T>
MTS_HD T sigmoid(T x) {
    return T(1) / (T(1) + expT(-x));
}
template <typename T>
MTS_HD T silu(T x) {
    return x * sigmoid(x);
}
/// d silu(x) / dx.
template <typename T>
MTS_HD T siluGrad(T x) {
    const T s = sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
}

/// One channel's constants.
template <typename T>
struct ScanChannel {
    T Dv = T(0);     // D skip (0 when absent)
    T bias = T(0);   // delta bias (0 when absent)
    bool softplus = true;
    bool hasZ = false;
};

/// dt from the raw delta.
template <typename T>
MTS_HD T deltaOf(T raw, const ScanChannel<T>& p) {
    const T x = raw + p.bias;
    return p.softplus ? softplus(x) : x;
}

/// Forward over one chunk of `len` steps for one channel: h (in: the state entering the chunk,
/// out: the state after it); u, delta, z staged (p[i * stride]); y[i * stride] receives the
/// gated output (may alias u: step i reads u[i] before writing y[i]).
template <typename T, int NM>
MTS_HD void scanForwardChunk(T (&h)[NM], const T (&A)[NM], int N, int len, const T* sB, const T* sC, const T* u,
                             const T* delta, const T* z, int stride, const ScanChannel<T>& p, T* y) {
    for (int i = 0; i < len; ++i) {
        const T uu = u[i * stride];
        const T dt = deltaOf(delta[i * stride], p);
        const T dtu = dt * uu;
        T acc = T(0);
        MTS_UNROLL
        for (int n = 0; n < NM; ++n) {
            if (n < N) {
                h[n] = expT(dt * A[n]) * h[n] + dtu * sB[i * N + n];
                acc += h[n] * sC[i * N + n];
            }
        }
        T out = acc + p.Dv * uu;
        if (p.hasZ) out *= silu(z[i * stride]);
        y[i * stride] = out;
    }
}

/// Backward's recompute of one chunk: from the saved boundary state h0, hs[(i + 1) * NM + n] =
/// the state after step i (hs[n] = h0[n]), dts[i] = dt, ss[i] = <h_i, C_i> (before D and gate).
template <typename T, int NM>
MTS_HD void scanRecomputeChunk(const T (&h0)[NM], const T (&A)[NM], int N, int len, const T* sB, const T* sC,
                               const T* u, const T* delta, int stride, const ScanChannel<T>& p, T* hs, T* dts, T* ss) {
    MTS_UNROLL
    for (int n = 0; n < NM; ++n) hs[n] = h0[n];
    for (int i = 0; i < len; ++i) {
        const T dt = deltaOf(delta[i * stride], p);
        const T dtu = dt * u[i * stride];
        const T* prev = hs + i * NM;
        T* cur = hs + (i + 1) * NM;
        T acc = T(0);
        MTS_UNROLL
        for (int n = 0; n < NM; ++n) {
            if (n < N) {
                cur[n] = expT(dt * A[n]) * prev[n] + dtu * sB[i * N + n];
                acc += cur[n] * sC[i * N + n];
            } else {
                cur[n] = T(0);
            }
        }
        dts[i] = dt;
        ss[i] = acc;
    }
}

/// Per-thread accumulators carried over the whole sequence by the backward.
template <typename T, int NM>
struct ScanGradCarry {
    T dh[NM];     // dL/dh entering the current step from later ones
    T dA[NM];     // this channel's dL/dA row, summed over steps
    T dD = T(0);
    T dBias = T(0);
};

/// Reverse recurrence over one chunk for one channel, after scanRecomputeChunk. Reads dy, u,
/// delta, z staged; writes du, ddelta, dz (p[i * stride]; each may alias the input of the same
/// step: all of step i's inputs are read before its outputs are written). dB / dC of the chunk's
/// rows (dB[i * N + n], summed over the block's channels) go through add(ptr, value), which
/// every thread of the block must reach with the same (i, n) sequence (a warp sum on the GPU).
template <typename T, int NM, typename Add>
MTS_HD void scanBackwardChunk(ScanGradCarry<T, NM>& g, const T (&A)[NM], int N, int len, const T* sB,
                              const T* sC, const T* u, const T* delta, const T* z, const T* dy, int stride,
                              const ScanChannel<T>& p, const T* hs, const T* dts, const T* ss, T* dB, T* dC,
                              const Add& add, T* du, T* ddelta, T* dz) {
    for (int i = len - 1; i >= 0; --i) {
        const T uu = u[i * stride];
        const T raw = delta[i * stride] + p.bias;
        const T dyv = dy[i * stride];
        const T dt = dts[i];
        T ds = dyv;  // dL/d(scan output incl. D skip, before the gate)
        T dzv = T(0);
        if (p.hasZ) {
            const T zz = z[i * stride];
            ds = dyv * silu(zz);
            dzv = dyv * (ss[i] + p.Dv * uu) * siluGrad(zz);
        }
        g.dD += ds * uu;
        const T dtu = dt * uu;
        const T* hcur = hs + (i + 1) * NM;
        const T* hprev = hs + i * NM;
        T dhB = T(0), ddtA = T(0);
        MTS_UNROLL
        for (int n = 0; n < NM; ++n) {
            if (n < N) {
                add(dC + i * N + n, ds * hcur[n]);
                const T dhn = g.dh[n] + ds * sC[i * N + n];  // dL/dh_t
                add(dB + i * N + n, dhn * dtu);
                dhB += dhn * sB[i * N + n];
                g.dh[n] = dhn * expT(dt * A[n]);            // dL/dh_{t-1}
                const T gA = g.dh[n] * hprev[n];            // dL/d(dt * A[n]) at step t
                ddtA += gA * A[n];
                g.dA[n] += gA * dt;
            }
        }
        T ddt = dhB * uu + ddtA;
        if (p.softplus) ddt *= sigmoid(raw);
        g.dBias += ddt;
        du[i * stride] = dhB * dt + ds * p.Dv;
        ddelta[i * stride] = ddt;
        if (p.hasZ) dz[i * stride] = dzv;
    }
}

// ---- causal depthwise conv1d (+ SiLU), token-major (B, L, C) ----
//
// One thread = (sequence, channel, tile of kConvTile steps [t0, t1)). x(s) gives the input at
// step s (s < 0: the left context or 0), w[j] the taps (j = 0 oldest), K <= kConvMaxWidth.

template <typename T, typename XAt, typename Store>
MTS_HD void convForwardTile(const T* w, int K, T bias, bool act, long long t0, long long t1, const XAt& x,
                            const Store& y) {
    T xs[kConvMaxWidth] = {};
    for (int j = 1; j < K; ++j) xs[j] = x(t0 - K + j);
    for (long long t = t0; t < t1; ++t) {
        for (int j = 0; j + 1 < K; ++j) xs[j] = xs[j + 1];
        xs[K - 1] = x(t);
        T pre = bias;
        for (int j = 0; j < K; ++j) pre += w[j] * xs[j];
        y(t, act ? silu(pre) : pre);
    }
}

/// Backward of one tile: steps s from min(L, t1 + K - 1) - 1 down to t0 (the rows past the
/// tile are recomputed, their dpre feeds the tile's dx). dx(s, v) stores; dw[j] and db receive
/// the tile's own rows' sums (the caller adds them to the shared gradients).
template <typename T, typename XAt, typename DyAt, typename Store>
MTS_HD void convBackwardTile(const T* w, int K, T bias, bool act, long long t0, long long t1, long long L,
                             const XAt& x, const DyAt& dy, const Store& dx, T* dw, T& db) {
    T xs[kConvMaxWidth] = {}, gq[kConvMaxWidth] = {};
    for (int j = 0; j < K; ++j) dw[j] = T(0);
    db = T(0);
    const long long sTop = (t1 + K - 1 < L ? t1 + K - 1 : L) - 1;
    for (int j = 0; j + 1 < K; ++j) xs[j] = x(sTop - K + 2 + j);
    for (long long s = sTop; s >= t0; --s) {
        for (int j = K - 1; j > 0; --j) xs[j] = xs[j - 1];
        xs[0] = x(s - K + 1);
        T pre = bias;
        for (int j = 0; j < K; ++j) pre += w[j] * xs[j];
        const T dyv = dy(s);
        const T dpre = act ? dyv * siluGrad(pre) : dyv;
        for (int j = K - 1; j > 0; --j) gq[j] = gq[j - 1];
        gq[0] = dpre;  // gq[j] = dpre[s + j]
        if (s >= t1) continue;
        db += dpre;
        for (int j = 0; j < K; ++j) dw[j] += dpre * xs[j];
        T v = T(0);
        for (int j = 0; j < K; ++j) v += w[j] * gq[K - 1 - j];
        dx(s, v);
    }
}

}  // namespace mts::scan_cuda

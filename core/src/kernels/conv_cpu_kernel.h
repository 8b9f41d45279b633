// Causal depthwise conv1d + SiLU kernels (X-include for scan_cpu_isa.cpp, like
// scan_cpu_kernel.h; NO include guard on purpose).
//
// The conv carries no state through time, so a task is (sequence b, tile of kTile time steps):
// it walks its tile once per channel block (W channels), the block's K inputs and taps held in
// registers. A tile's rows (kTile of them, D or 2D elements apart) stay in cache while all the
// blocks pass over them; a task per block walking the whole sequence would instead fetch a new
// page at every step. K, the kernel width, is a compile-time 4 (Mamba's) or a run-time value.

template <typename T, int W, typename IO = T>
struct ConvKernel {
    using V = typename VecT<T, W>::V;
    using Args = scan_cpu::ConvArgs<T, IO>;
    static constexpr int kMaxK = 16;
    static constexpr int64_t kTile = 32;

    static int64_t tasks(const Args& a) { return a.B * ((a.L + kTile - 1) / kTile); }

    // Input at time s (any s < L) of channels [d0, d0+lanes): x, the left context for s < 0, or 0.
    static V xAt(const Args& a, int64_t b, int64_t d0, int lanes, int64_t s) {
        if (s >= 0) return vloadAs<T, W>(a.x + b * a.xSB + s * a.xSL + d0, lanes);
        if (!a.left) return V{};
        return vloadAs<T, W>(a.left + (b * (a.K - 1) + (a.K - 1 + s)) * a.D + d0, lanes);
    }

    static void forward(const Args& a, int64_t taskBegin, int64_t taskEnd) {
        if (a.K == 4) return forwardK<4>(a, taskBegin, taskEnd);
        forwardK<0>(a, taskBegin, taskEnd);
    }
    static void backward(const Args& a, int64_t taskBegin, int64_t taskEnd) {
        if (a.K == 4) return backwardK<4>(a, taskBegin, taskEnd);
        backwardK<0>(a, taskBegin, taskEnd);
    }

    // xs[j] = x[t - K + 1 + j]: the window of step t; wv[j] the taps.
    template <int KS>
    static void forwardK(const Args& a, int64_t taskBegin, int64_t taskEnd) {
        const int64_t D = a.D, L = a.L, nT = (L + kTile - 1) / kTile;
        const int K = KS > 0 ? KS : int(a.K);
        V wv[KS > 0 ? KS : kMaxK], xs[KS > 0 ? KS : kMaxK];
        for (int64_t task = taskBegin; task < taskEnd; ++task) {
            const int64_t b = task / nT, t0 = (task % nT) * kTile, t1 = std::min(L, t0 + kTile);
            for (int64_t d0 = 0; d0 < D; d0 += W) {
                const int lanes = int(std::min<int64_t>(W, D - d0));
                for (int j = 0; j < K; ++j) wv[j] = vloadN<T, W>(a.w + j * D + d0, lanes);
                const V bv = a.bias ? vloadN<T, W>(a.bias + d0, lanes) : V{};
                for (int j = 1; j < K; ++j) xs[j] = xAt(a, b, d0, lanes, t0 - K + j);
                const IO* xp = a.x + b * a.xSB + d0;
                IO* yp = a.y + b * L * D + d0;
                for (int64_t t = t0; t < t1; ++t) {
                    for (int j = 0; j + 1 < K; ++j) xs[j] = xs[j + 1];
                    xs[K - 1] = vloadAs<T, W>(xp + t * a.xSL, lanes);
                    V pre = bv;
                    for (int j = 0; j < K; ++j) pre += wv[j] * xs[j];
                    vstoreAs<T, W>(yp + t * D, a.silu ? pre * vsigmoid<T, W>(pre) : pre, lanes);
                }
            }
        }
    }

    // Steps s from the tile's end + K - 2 down to its start: dpre[s] = dy[s] act'(pre[s]) (pre
    // recomputed from the window xs[j] = x[s - K + 1 + j]), g[j] = dpre[s + j] (so rows past
    // the tile, which the tile's dx needs, are recomputed by both tiles), dx[s] = sum_j w[j]
    // dpre[s + K - 1 - j]. dw and db take only the tile's own rows, into the task's partial
    // sums (a.dwPart is (tasks, K, D), a.dbPart (tasks, D)).
    template <int KS>
    static void backwardK(const Args& a, int64_t taskBegin, int64_t taskEnd) {
        const int64_t D = a.D, L = a.L, nT = (L + kTile - 1) / kTile;
        const int K = KS > 0 ? KS : int(a.K);
        constexpr int kCap = KS > 0 ? KS : kMaxK;
        V wv[kCap], xs[kCap], g[kCap], dw[kCap];
        for (int64_t task = taskBegin; task < taskEnd; ++task) {
            const int64_t b = task / nT, t0 = (task % nT) * kTile, t1 = std::min(L, t0 + kTile);
            const int64_t sTop = std::min(L, t1 + K - 1) - 1;
            for (int64_t d0 = 0; d0 < D; d0 += W) {
                const int lanes = int(std::min<int64_t>(W, D - d0));
                for (int j = 0; j < K; ++j) {
                    wv[j] = vloadN<T, W>(a.w + j * D + d0, lanes);
                    dw[j] = V{};
                    g[j] = V{};
                }
                const V bv = a.bias ? vloadN<T, W>(a.bias + d0, lanes) : V{};
                V db = {};
                // The window one step above sTop (its lowest entry unused): shifted up per step.
                for (int j = 0; j + 1 < K; ++j) xs[j] = xAt(a, b, d0, lanes, sTop - K + 2 + j);
                const IO* dyp = a.dy + b * a.dySB + d0;
                IO* dxp = a.dx + b * L * D + d0;
                for (int64_t s = sTop; s >= t0; --s) {
                    for (int j = K - 1; j > 0; --j) xs[j] = xs[j - 1];
                    xs[0] = xAt(a, b, d0, lanes, s - K + 1);
                    V pre = bv;
                    for (int j = 0; j < K; ++j) pre += wv[j] * xs[j];
                    const V dyv = vloadAs<T, W>(dyp + s * a.dySL, lanes);
                    V dpre = dyv;
                    if (a.silu) {
                        const V sig = vsigmoid<T, W>(pre);
                        dpre = dyv * sig * (T(1) + pre * (T(1) - sig));
                    }
                    for (int j = K - 1; j > 0; --j) g[j] = g[j - 1];
                    g[0] = dpre;
                    if (s >= t1) continue;  // a row of the next tile: only its dpre is needed
                    db += dpre;
                    for (int j = 0; j < K; ++j) dw[j] += dpre * xs[j];
                    V dxv = {};
                    for (int j = 0; j < K; ++j) dxv += wv[j] * g[K - 1 - j];
                    vstoreAs<T, W>(dxp + s * D, dxv, lanes);
                }
                for (int j = 0; j < K; ++j) vstoreN<T, W>(a.dwPart + (task * K + j) * D + d0, dw[j], lanes);
                if (a.dbPart) vstoreN<T, W>(a.dbPart + task * D + d0, db, lanes);
            }
        }
    }
};

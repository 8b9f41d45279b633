// Causal depthwise conv1d + SiLU kernels (X-include for scan_cpu_isa.cpp, like
// scan_cpu_kernel.h; NO include guard on purpose). One task = (sequence b, W channels).
// K (the kernel width, 4 in Mamba) is small: the K taps are re-read from L1 each step.

template <typename T, int W>
struct ConvKernel {
    using V = typename VecT<T, W>::V;
    static constexpr int kMaxK = 16;
    // Rows are D (x: 2D) floats apart, so a task crosses a page every step or two, where the
    // hardware prefetcher stops: fetch rows kAhead steps ahead (as the scan kernel does).
    static constexpr int64_t kAhead = 8;

    // Input at time s of the task's channels: x, or the left context for s < 0.
    static V xAt(const scan_cpu::ConvArgs<T>& a, int64_t b, int64_t d0, int lanes, int64_t s) {
        if (s >= 0) return vloadN<T, W>(a.x + b * a.xSB + s * a.xSL + d0, lanes);
        if (!a.left) return V{};
        return vloadN<T, W>(a.left + (b * (a.K - 1) + (a.K - 1 + s)) * a.D + d0, lanes);
    }

    static void forward(const scan_cpu::ConvArgs<T>& a, int64_t taskBegin, int64_t taskEnd) {
        const int64_t D = a.D, L = a.L;
        const int K = int(a.K);
        const int64_t nBlk = (D + W - 1) / W;
        V wv[kMaxK];
        for (int64_t task = taskBegin; task < taskEnd; ++task) {
            const int64_t b = task / nBlk, d0 = (task % nBlk) * W;
            const int lanes = int(std::min<int64_t>(W, D - d0));
            for (int j = 0; j < K; ++j) wv[j] = vloadN<T, W>(a.w + j * D + d0, lanes);
            const V bv = a.bias ? vloadN<T, W>(a.bias + d0, lanes) : V{};
            T* yp = a.y + b * L * D + d0;
            for (int64_t t = 0; t < L; ++t) {
                if (t + kAhead < L) {
                    __builtin_prefetch(a.x + b * a.xSB + (t + kAhead) * a.xSL + d0, 0, 3);
                    __builtin_prefetch(yp + (t + kAhead) * D, 1, 3);
                }
                V pre = bv;
                if (t >= K - 1) {
                    const T* xp = a.x + b * a.xSB + (t - K + 1) * a.xSL + d0;
                    for (int j = 0; j < K; ++j) pre += wv[j] * vloadN<T, W>(xp + j * a.xSL, lanes);
                } else {
                    for (int j = 0; j < K; ++j) pre += wv[j] * xAt(a, b, d0, lanes, t - K + 1 + j);
                }
                vstoreN<T, W>(yp + t * D, a.silu ? pre * vsigmoid<T, W>(pre) : pre, lanes);
            }
        }
    }

    static void backward(const scan_cpu::ConvArgs<T>& a, int64_t taskBegin, int64_t taskEnd) {
        const int64_t D = a.D, L = a.L;
        const int K = int(a.K);
        const int64_t nBlk = (D + W - 1) / W;
        V wv[kMaxK], dw[kMaxK], g[kMaxK];  // g: dpre of the next K-1 steps, g[j] = dpre[s + j]
        for (int64_t task = taskBegin; task < taskEnd; ++task) {
            const int64_t b = task / nBlk, d0 = (task % nBlk) * W;
            const int lanes = int(std::min<int64_t>(W, D - d0));
            for (int j = 0; j < K; ++j) {
                wv[j] = vloadN<T, W>(a.w + j * D + d0, lanes);
                dw[j] = V{};
                g[j] = V{};
            }
            const V bv = a.bias ? vloadN<T, W>(a.bias + d0, lanes) : V{};
            V db = {};
            T* dxp = a.dx + b * L * D + d0;
            for (int64_t s = L - 1; s >= 0; --s) {
                if (s - K + 1 - kAhead >= 0) {
                    __builtin_prefetch(a.x + b * a.xSB + (s - K + 1 - kAhead) * a.xSL + d0, 0, 3);
                    __builtin_prefetch(a.dy + b * a.dySB + (s - kAhead) * a.dySL + d0, 0, 3);
                    __builtin_prefetch(dxp + (s - kAhead) * D, 1, 3);
                }
                // dpre[s] from dy[s] and the recomputed pre-activation.
                V pre = bv;
                V xs[kMaxK];
                for (int j = 0; j < K; ++j) {
                    xs[j] = xAt(a, b, d0, lanes, s - K + 1 + j);
                    pre += wv[j] * xs[j];
                }
                const V dyv = vloadN<T, W>(a.dy + b * a.dySB + s * a.dySL + d0, lanes);
                V dpre = dyv;
                if (a.silu) {
                    const V sig = vsigmoid<T, W>(pre);
                    dpre = dyv * sig * (T(1) + pre * (T(1) - sig));
                }
                for (int j = K - 1; j > 0; --j) g[j] = g[j - 1];
                g[0] = dpre;
                db += dpre;
                for (int j = 0; j < K; ++j) dw[j] += dpre * xs[j];
                // x[s] feeds pre[s + K - 1 - j] through tap j.
                V dxv = {};
                for (int j = 0; j < K; ++j) dxv += wv[j] * g[K - 1 - j];
                vstoreN<T, W>(dxp + s * D, dxv, lanes);
            }
            for (int j = 0; j < K; ++j) vstoreN<T, W>(a.dwPart + (b * K + j) * D + d0, dw[j], lanes);
            if (a.dbPart) vstoreN<T, W>(a.dbPart + b * D + d0, db, lanes);
        }
    }
};

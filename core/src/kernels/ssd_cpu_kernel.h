// The fused CPU SSD kernels (see ssd_cpu.h), written once over T (float, double), W SIMD lanes
// and IO (the storage of x, B, C, y and their gradients).
//
// NO include guard on purpose: ssd_cpu_isa.cpp includes this file once per instruction-set
// region, after vec_exp_impl.h, inside a distinct namespace. Do not include it anywhere else.
//
// One work item = (batch row b, group g, head split s). It walks the chunks of Q tokens in
// order (forward) or in reverse (backward), carrying the (N, P) state (or its gradient) of each
// of its heads. Within a chunk everything is small matrix products on L1/L2-sized buffers,
// done by gemm() below: a 4-row x (NV W)-column register block with scalar broadcasts of the
// left operand, so its operand may be read transposed at no cost. The state is kept
// transposed, (N, P), so that the products that read it run along P.

// C[i][j] = beta C[i][j] + rs[i] * sum_k A[i sAi + k sAk] Bm[k ldb + j], i < M, j < Nc.
// tri 0: k in [0, K); tri 1: per block of 4 rows from i0, k < i0 + 4 (A must be zero above its
// diagonal); tri 2: k >= i0 (A zero below its diagonal). beta == 0: C is not read.
template <typename T, int W, int NV, bool FULL>
inline void gemmPanel(int64_t i0, int64_t rr, int64_t j0, int64_t rem, int64_t k0, int64_t k1, const T* A,
                      int64_t sAi, int64_t sAk, const T* Bm, int64_t ldb, T* C, int64_t ldc, T beta, const T* rs) {
    using V = typename VecT<T, W>::V;
    constexpr int R = 4;
    V acc[R][NV];
    MTS_SCAN_UNROLL
    for (int r = 0; r < R; ++r)
        MTS_SCAN_UNROLL
        for (int v = 0; v < NV; ++v) acc[r][v] = V{};
    const T* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = A + (i0 + (r < rr ? r : 0)) * sAi;
    int nl[NV];
    for (int v = 0; v < NV; ++v) nl[v] = FULL ? W : int(std::max<int64_t>(0, std::min<int64_t>(W, rem - v * W)));
    for (int64_t k = k0; k < k1; ++k) {
        const T* bp = Bm + k * ldb + j0;
        V b[NV];
        MTS_SCAN_UNROLL
        for (int v = 0; v < NV; ++v) b[v] = FULL ? vload<T, W>(bp + v * W) : vloadN<T, W>(bp + v * W, nl[v]);
        const int64_t ka = k * sAk;
        MTS_SCAN_UNROLL
        for (int r = 0; r < R; ++r) {
            const V av = vsplat<T, W>(ar[r][ka]);
            MTS_SCAN_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] += av * b[v];
        }
    }
    for (int r = 0; r < rr; ++r) {
        T* cp = C + (i0 + r) * ldc + j0;
        const V s = vsplat<T, W>(rs ? rs[i0 + r] : T(1));
        for (int v = 0; v < NV; ++v) {
            V c = acc[r][v] * s;
            if (beta != T(0)) c += vsplat<T, W>(beta) * (FULL ? vload<T, W>(cp + v * W) : vloadN<T, W>(cp + v * W, nl[v]));
            if (FULL)
                vstore<T, W>(cp + v * W, c);
            else
                vstoreN<T, W>(cp + v * W, c, nl[v]);
        }
    }
}

template <typename T, int W>
inline void gemm(int64_t M, int64_t Nc, int64_t K, const T* A, int64_t sAi, int64_t sAk, const T* Bm, int64_t ldb,
                 T* C, int64_t ldc, T beta, const T* rs, int tri) {
    constexpr int NV = W >= 16 ? 4 : 2;
    for (int64_t j0 = 0; j0 < Nc; j0 += NV * W) {
        const int64_t rem = Nc - j0;
        for (int64_t i0 = 0; i0 < M; i0 += 4) {
            const int64_t rr = std::min<int64_t>(4, M - i0);
            const int64_t k0 = tri == 2 ? std::min(i0, K) : 0;
            const int64_t k1 = tri == 1 ? std::min(K, i0 + 4) : K;
            if (rem >= NV * W)
                gemmPanel<T, W, NV, true>(i0, rr, j0, rem, k0, k1, A, sAi, sAk, Bm, ldb, C, ldc, beta, rs);
            else
                gemmPanel<T, W, NV, false>(i0, rr, j0, rem, k0, k1, A, sAi, sAk, Bm, ldb, C, ldc, beta, rs);
        }
    }
}

#if MTS_SSD_AVX512_REGION
// out (16 x 16, row stride ldo) = the transpose of in (16 x 16, row stride ldi): 3 shuffle stages.
inline void transpose16x16(const float* in, int64_t ldi, float* out, int64_t ldo) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * ldi);
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
        }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * ldo, r[i]);
}
#endif

// out[c][r] = in[r][c] for an (rows, cols) matrix with row stride ldi, out's row stride ldo.
template <typename T>
inline void transposeInto(const T* in, int64_t rows, int64_t cols, int64_t ldi, T* out, int64_t ldo) {
    constexpr int64_t kTile = 16;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile)
        for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
#if MTS_SSD_AVX512_REGION
            if constexpr (std::is_same_v<T, float>) {
                if (r0 + kTile <= rows && c0 + kTile <= cols) {
                    transpose16x16(in + r0 * ldi + c0, ldi, out + c0 * ldo + r0, ldo);
                    continue;
                }
            }
#endif
            for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
                for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) out[c * ldo + r] = in[r * ldi + c];
        }
}

template <typename T, int W>
inline T dotN(const T* a, const T* b, int64_t n) {
    using V = typename VecT<T, W>::V;
    V s = {};
    int64_t i = 0;
    for (; i + W <= n; i += W) s += vload<T, W>(a + i) * vload<T, W>(b + i);
    T t = vsum<T, W>(s);
    for (; i < n; ++i) t += a[i] * b[i];
    return t;
}

// y[i] = exp(x[i])
template <typename T, int W>
inline void expN(const T* x, T* y, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vstore<T, W>(y + i, vexp<T, W>(vload<T, W>(x + i)));
    if (i < n) vstoreN<T, W>(y + i, vexp<T, W>(vloadN<T, W>(x + i, int(n - i))), int(n - i));
}

// Loads rows [t0, t0 + q) of one (L, cols) slice (row stride sL, IO storage) into a dense T matrix.
template <typename T, int W, typename IO>
inline void loadRows(const IO* p, int64_t sL, int64_t q, int64_t cols, T* out) {
    for (int64_t i = 0; i < q; ++i) {
        const IO* src = p + i * sL;
        T* dst = out + i * cols;
        for (int64_t c = 0; c < cols; c += W) {
            const int m = int(std::min<int64_t>(W, cols - c));
            vstoreN<T, W>(dst + c, vloadAs<T, W>(src + c, m), m);
        }
    }
}

template <typename T, int W, typename IO>
struct SsdKernel {
    using V = typename VecT<T, W>::V;
    using Args = ssd_cpu::SsdArgs<T, IO>;

    struct Item {
        int64_t b, g, h0, hs;
    };
    static Item item(const Args& a, int64_t it) {
        const int64_t hg = a.H / a.G, hs = hg / a.splits;
        const int64_t b = it / (a.G * a.splits), rest = it % (a.G * a.splits);
        const int64_t g = rest / a.splits, s = rest % a.splits;
        return {b, g, g * hg + s * hs, hs};
    }

    // Per head and chunk: dt, the cumulative log decay acs, exp(acs), the weights to the chunk end
    // w_j = exp(acs_last - acs_j), x (widened) and x dt, and the decay matrix Ld_ij = exp(acs_i -
    // acs_j) (j <= i, 0 above) and M = CB * Ld.
    struct HeadChunk {
        T* dtv; T* acs; T* ea; T* w; T* tmp; T* Xf; T* Xdt; T* Ld; T* M;
    };

    static void prepareHead(const Args& a, const HeadChunk& hc, const T* CB, int64_t b, int64_t h, int64_t t0,
                            int64_t q) {
        const int64_t P = a.P;
        const T ah = a.A[h];
        T run = 0;
        for (int64_t j = 0; j < q; ++j) {
            const T d = a.dt[(b * a.L + t0 + j) * a.H + h];
            hc.dtv[j] = d;
            run += d * ah;
            hc.acs[j] = run;
        }
        expN<T, W>(hc.acs, hc.ea, q);
        for (int64_t j = 0; j < q; ++j) hc.tmp[j] = run - hc.acs[j];
        expN<T, W>(hc.tmp, hc.w, q);
        loadRows<T, W>(a.x + b * a.xSB + t0 * a.xSL + h * a.xSH, a.xSL, q, P, hc.Xf);
        for (int64_t j = 0; j < q; ++j) {
            const V d = vsplat<T, W>(hc.dtv[j]);
            for (int64_t p = 0; p < P; p += W) {
                const int m = int(std::min<int64_t>(W, P - p));
                vstoreN<T, W>(hc.Xdt + j * P + p, d * vloadN<T, W>(hc.Xf + j * P + p, m), m);
            }
        }
        for (int64_t i = 0; i < q; ++i) {
            T* ld = hc.Ld + i * q;
            T* m = hc.M + i * q;
            const V ai = vsplat<T, W>(hc.acs[i]);
            for (int64_t j = 0; j <= i; j += W) {
                const int n = int(std::min<int64_t>(W, i + 1 - j));
                const V e = vexp<T, W>(ai - vloadN<T, W>(hc.acs + j, n));
                vstoreN<T, W>(ld + j, e, n);
                vstoreN<T, W>(m + j, e * vloadN<T, W>(CB + i * q + j, n), n);
            }
            for (int64_t j = i + 1; j < q; ++j) ld[j] = m[j] = 0;
        }
    }

    // Bf, Cf (q, N) for the chunk and group, Bt (N, q), CB = C B^T (q, q).
    static void prepareGroup(const Args& a, int64_t b, int64_t g, int64_t t0, int64_t q, T* Bf, T* Cf, T* Bt, T* CB) {
        const int64_t N = a.N;
        loadRows<T, W>(a.Bm + b * a.bSB + t0 * a.bSL + g * a.bSG, a.bSL, q, N, Bf);
        loadRows<T, W>(a.Cm + b * a.cSB + t0 * a.cSL + g * a.cSG, a.cSL, q, N, Cf);
        transposeInto(Bf, q, N, N, Bt, q);
        gemm<T, W>(q, q, N, Cf, N, 1, Bt, q, CB, q, T(0), nullptr, 0);
    }

    static void forward(const Args& a, int64_t begin, int64_t end) {
        const int64_t Q = a.Q, P = a.P, N = a.N, L = a.L;
        const int64_t chunks = (L + Q - 1) / Q;
        const int64_t hsMax = a.H / a.G / a.splits;
        std::vector<T> buf(size_t(2 * Q * N + N * Q + 3 * Q * Q + 4 * Q * P + 5 * Q + hsMax * N * P));
        T* p = buf.data();
        auto take = [&](int64_t n) { T* r = p; p += n; return r; };
        T *Bf = take(Q * N), *Cf = take(Q * N), *Bt = take(N * Q), *CB = take(Q * Q);
        HeadChunk hc{take(Q), take(Q), take(Q), take(Q), take(Q), take(Q * P), take(Q * P), take(Q * Q), take(Q * Q)};
        T *Y = take(Q * P), *Xe = take(Q * P), *st = take(hsMax * N * P);
        for (int64_t it = begin; it < end; ++it) {
            const Item w = item(a, it);
            for (int64_t hi = 0; hi < w.hs; ++hi) {
                T* s = st + hi * N * P;
                if (a.h0)
                    transposeInto(a.h0 + (w.b * a.H + w.h0 + hi) * P * N, P, N, N, s, P);
                else
                    std::fill(s, s + N * P, T(0));
            }
            for (int64_t k = 0; k < chunks; ++k) {
                const int64_t t0 = k * Q, q = std::min(Q, L - t0);
                prepareGroup(a, w.b, w.g, t0, q, Bf, Cf, Bt, CB);
                for (int64_t hi = 0; hi < w.hs; ++hi) {
                    const int64_t h = w.h0 + hi;
                    T* s = st + hi * N * P;
                    if (a.states) std::copy(s, s + N * P, a.states + ((w.b * a.H + h) * chunks + k) * N * P);
                    prepareHead(a, hc, CB, w.b, h, t0, q);
                    gemm<T, W>(q, P, N, Cf, N, 1, s, P, Y, P, T(0), hc.ea, 0);          // exp(acs_i) C_i S
                    gemm<T, W>(q, P, q, hc.M, q, 1, hc.Xdt, P, Y, P, T(1), nullptr, 1);  // + (CB * Ld) X dt
                    const V dv = vsplat<T, W>(a.D ? a.D[h] : T(0));
                    IO* yb = a.y + ((w.b * L + t0) * a.H + h) * P;
                    for (int64_t i = 0; i < q; ++i) {
                        for (int64_t c = 0; c < P; c += W) {
                            const int m = int(std::min<int64_t>(W, P - c));
                            const V v = vloadN<T, W>(Y + i * P + c, m) + dv * vloadN<T, W>(hc.Xf + i * P + c, m);
                            vstoreAs<T, W>(yb + i * a.H * P + c, v, m);
                        }
                        const V wi = vsplat<T, W>(hc.w[i]);
                        for (int64_t c = 0; c < P; c += W) {
                            const int m = int(std::min<int64_t>(W, P - c));
                            vstoreN<T, W>(Xe + i * P + c, wi * vloadN<T, W>(hc.Xdt + i * P + c, m), m);
                        }
                    }
                    // S <- exp(acs_last) S + B^T (w X dt)
                    gemm<T, W>(N, P, q, Bf, 1, N, Xe, P, s, P, std::exp(hc.acs[q - 1]), nullptr, 0);
                }
            }
            if (a.hLast)
                for (int64_t hi = 0; hi < w.hs; ++hi)
                    transposeInto(st + hi * N * P, N, P, P, a.hLast + (w.b * a.H + w.h0 + hi) * P * N, N);
        }
    }

    static void backward(const Args& a, int64_t begin, int64_t end) {
        const int64_t Q = a.Q, P = a.P, N = a.N, L = a.L, H = a.H;
        const int64_t chunks = (L + Q - 1) / Q;
        const int64_t hsMax = H / a.G / a.splits;
        std::vector<T> buf(size_t(2 * Q * N + N * Q + 3 * Q * Q + 4 * Q * P + 5 * Q + hsMax * N * P +
                                  /* group */ 3 * Q * N + Q * Q + /* head */ 5 * Q * P + 2 * P * N + P * Q + Q * Q + Q));
        T* p = buf.data();
        auto take = [&](int64_t n) { T* r = p; p += n; return r; };
        T *Bf = take(Q * N), *Cf = take(Q * N), *Bt = take(N * Q), *CB = take(Q * Q);
        HeadChunk hc{take(Q), take(Q), take(Q), take(Q), take(Q), take(Q * P), take(Q * P), take(Q * Q), take(Q * Q)};
        T *dst = take(hsMax * N * P), *dBacc = take(Q * N), *dCacc = take(Q * N), *dCoff = take(Q * N),
          *dCBacc = take(Q * Q);
        T *dY = take(Q * P), *dYs = take(Q * P), *dXdt = take(Q * P), *dXs = take(Q * P), *unused = take(Q * P);
        T *StT = take(P * N), *dStT = take(P * N), *XdtT = take(P * Q), *Gm = take(Q * Q), *dacs = take(Q);
        (void)unused;
        for (int64_t it = begin; it < end; ++it) {
            const Item w = item(a, it);
            const int64_t split = (w.h0 - w.g * (H / a.G)) / w.hs;
            std::vector<T> dAacc(size_t(w.hs), T(0)), dDacc(size_t(w.hs), T(0));
            for (int64_t hi = 0; hi < w.hs; ++hi) {
                T* ds = dst + hi * N * P;
                if (a.dhLast)
                    transposeInto(a.dhLast + (w.b * H + w.h0 + hi) * P * N, P, N, N, ds, P);
                else
                    std::fill(ds, ds + N * P, T(0));
            }
            for (int64_t k = chunks - 1; k >= 0; --k) {
                const int64_t t0 = k * Q, q = std::min(Q, L - t0);
                prepareGroup(a, w.b, w.g, t0, q, Bf, Cf, Bt, CB);
                std::fill(dBacc, dBacc + q * N, T(0));
                std::fill(dCacc, dCacc + q * N, T(0));
                std::fill(dCBacc, dCBacc + q * q, T(0));
                for (int64_t hi = 0; hi < w.hs; ++hi) {
                    const int64_t h = w.h0 + hi;
                    T* ds = dst + hi * N * P;
                    const T* sIn = a.states + ((w.b * H + h) * chunks + k) * N * P;
                    prepareHead(a, hc, CB, w.b, h, t0, q);
                    const T aLast = hc.acs[q - 1], eL = std::exp(aLast), ah = a.A[h];
                    loadRows<T, W>(a.dy + ((w.b * L + t0) * H + h) * P, H * P, q, P, dY);
                    for (int64_t i = 0; i < q; ++i) {
                        const V e = vsplat<T, W>(hc.ea[i]);
                        for (int64_t c = 0; c < P; c += W) {
                            const int m = int(std::min<int64_t>(W, P - c));
                            vstoreN<T, W>(dYs + i * P + c, e * vloadN<T, W>(dY + i * P + c, m), m);
                        }
                    }
                    // inter-chunk output exp(acs_i) C_i S_in: dC, dacs
                    transposeInto(sIn, N, P, P, StT, N);
                    gemm<T, W>(q, N, P, dY, P, 1, StT, N, dCoff, N, T(0), hc.ea, 0);
                    for (int64_t i = 0; i < q; ++i) {
                        dacs[i] = dotN<T, W>(Cf + i * N, dCoff + i * N, N);
                        for (int64_t n = 0; n < N; ++n) dCacc[i * N + n] += dCoff[i * N + n];
                    }
                    // intra-chunk (CB * Ld) X dt: G = dY (X dt)^T, dCB, dacs, dXdt
                    transposeInto(hc.Xdt, q, P, P, XdtT, q);
                    gemm<T, W>(q, q, P, dY, P, 1, XdtT, q, Gm, q, T(0), nullptr, 0);
                    for (int64_t i = 0; i < q; ++i) {
                        V rowSum = {};
                        const T* gr = Gm + i * q;
                        const T* mr = hc.M + i * q;
                        const T* lr = hc.Ld + i * q;
                        T* cbr = dCBacc + i * q;
                        for (int64_t j = 0; j <= i; j += W) {
                            const int m = int(std::min<int64_t>(W, i + 1 - j));
                            const V g = vloadN<T, W>(gr + j, m);
                            const V t = g * vloadN<T, W>(mr + j, m);
                            rowSum += t;
                            vstoreN<T, W>(dacs + j, vloadN<T, W>(dacs + j, m) - t, m);
                            vstoreN<T, W>(cbr + j, vloadN<T, W>(cbr + j, m) + g * vloadN<T, W>(lr + j, m), m);
                        }
                        dacs[i] += vsum<T, W>(rowSum);
                    }
                    gemm<T, W>(q, P, q, hc.M, 1, q, dY, P, dXdt, P, T(0), nullptr, 2);
                    // chunk end state exp(acs_last) S_in + B^T (w X dt): dXdt, dB, dacs
                    gemm<T, W>(q, P, N, Bf, N, 1, ds, P, dXs, P, T(0), hc.w, 0);
                    T sumU = 0;
                    for (int64_t j = 0; j < q; ++j) {
                        const T u = dotN<T, W>(hc.Xdt + j * P, dXs + j * P, P);
                        dacs[j] -= u;
                        sumU += u;
                        for (int64_t c = 0; c < P; ++c) dXdt[j * P + c] += dXs[j * P + c];
                    }
                    dacs[q - 1] += sumU + eL * dotN<T, W>(ds, sIn, N * P);
                    transposeInto(ds, N, P, P, dStT, N);
                    gemm<T, W>(q, N, P, hc.Xdt, P, 1, dStT, N, dBacc, N, T(1), hc.w, 0);
                    // the state gradient entering this chunk: exp(acs_last) dS + C^T (exp(acs) dY)
                    gemm<T, W>(N, P, q, Cf, 1, N, dYs, P, ds, P, eL, nullptr, 0);
                    // dx, ddt, dA, dD
                    const T dh = a.D ? a.D[h] : T(0);
                    IO* dxb = a.dx + ((w.b * L + t0) * H + h) * P;
                    T rev = 0, dA = 0, dD = 0;
                    for (int64_t j = q - 1; j >= 0; --j) {
                        rev += dacs[j];
                        const T* xr = hc.Xf + j * P;
                        const T* gr = dXdt + j * P;
                        const T* yr = dY + j * P;
                        T ddt = dotN<T, W>(xr, gr, P) + ah * rev;
                        dA += rev * hc.dtv[j];
                        if (a.D) dD += dotN<T, W>(yr, xr, P);
                        const V dtj = vsplat<T, W>(hc.dtv[j]), dv = vsplat<T, W>(dh);
                        for (int64_t c = 0; c < P; c += W) {
                            const int m = int(std::min<int64_t>(W, P - c));
                            const V v = dtj * vloadN<T, W>(gr + c, m) + dv * vloadN<T, W>(yr + c, m);
                            vstoreAs<T, W>(dxb + j * H * P + c, v, m);
                        }
                        a.ddt[(w.b * L + t0 + j) * H + h] = ddt;
                    }
                    dAacc[size_t(hi)] += dA;
                    dDacc[size_t(hi)] += dD;
                }
                // C B^T shared by the group's heads: dC += dCB B, dB += dCB^T C
                gemm<T, W>(q, N, q, dCBacc, q, 1, Bf, N, dCacc, N, T(1), nullptr, 1);
                gemm<T, W>(q, N, q, dCBacc, 1, q, Cf, N, dBacc, N, T(1), nullptr, 2);
                const int64_t G = a.G;
                T* dBo = a.dBPart + (((split * a.B + w.b) * L + t0) * G + w.g) * N;
                T* dCo = a.dCPart + (((split * a.B + w.b) * L + t0) * G + w.g) * N;
                for (int64_t i = 0; i < q; ++i) {
                    std::copy(dBacc + i * N, dBacc + (i + 1) * N, dBo + i * G * N);
                    std::copy(dCacc + i * N, dCacc + (i + 1) * N, dCo + i * G * N);
                }
            }
            for (int64_t hi = 0; hi < w.hs; ++hi) {
                const int64_t h = w.h0 + hi;
                if (a.dh0) transposeInto(dst + hi * N * P, N, P, P, a.dh0 + (w.b * H + h) * P * N, N);
                a.dAPart[w.b * H + h] = dAacc[size_t(hi)];
                if (a.dDPart) a.dDPart[w.b * H + h] = dDacc[size_t(hi)];
            }
        }
    }
};

template <typename T, int W, typename IO = T>
ssd_cpu::SsdKernelSet<T, IO> ssdKernelsFor() {
    ssd_cpu::SsdKernelSet<T, IO> k;
    k.forward = &SsdKernel<T, W, IO>::forward;
    k.backward = &SsdKernel<T, W, IO>::backward;
    return k;
}

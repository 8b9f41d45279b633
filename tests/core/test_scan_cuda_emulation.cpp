// The CUDA kernels' algorithm run on the CPU: the per-thread math of scan_cuda_math.cuh (the
// very code the kernels run) driven in plain loops over (batch, channel group, thread) exactly
// as selective_scan_cuda.cu / causal_conv_cuda.cu drive it: chunks staged for a block of
// kScanThreads channels (tail threads on zeros), only the chunk-boundary states kept, the
// backward recomputing each chunk from its saved state and walking the chunks in reverse, the
// block's dB/dC sums and the per-thread dA/dD/dbias sums added up. Compared in float and in
// double with the double-precision oracle: y, the last state and every gradient, for several
// chunk lengths (one not dividing L), with and without z / D / bias / softplus / h0.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/cuda/scan_cuda_math.cuh"
#include "scan_oracle.h"

namespace {

namespace sc = mts::scan_cuda;
using mts::test::relErr;
using mts::test::ScanCase;
using torch::Tensor;

template <typename T>
std::vector<T> toVec(const Tensor& t) {
    if (!t.defined()) return {};
    const Tensor c = t.detach().to(torch::kFloat64).contiguous();
    const double* p = c.data_ptr<double>();
    return std::vector<T>(p, p + c.numel());
}
template <typename T>
Tensor toTensor(const std::vector<T>& v, at::IntArrayRef shape) {
    std::vector<double> d(v.begin(), v.end());
    return torch::tensor(d, torch::kFloat64).reshape(shape);
}

// Host copies in the kernel's layouts; an empty vector is an absent optional.
template <typename T>
struct ScanData {
    int64_t B = 0, L = 0, D = 0, N = 0;
    bool softplus = true;
    std::vector<T> u, delta, z, A, Bm, Cm, Dskip, bias, h0, dy, dhLast;
};
template <typename T>
struct ScanResult {
    std::vector<T> y, hLast, du, ddelta, dz, dA, dB, dC, dD, dBias, dh0;
};

struct PlainAdd {  // the emulation's stand-in for the warp sum + atomicAdd
    template <typename T>
    void operator()(T* p, T v) const {
        *p += v;
    }
};

template <typename T, int NM>
struct Row {
    T v[NM];
};

// A thread's channel constants and A row (zeros for tail threads), as loadChannel does.
template <typename T, int NM>
void loadChannel(const ScanData<T>& s, int64_t d, bool active, Row<T, NM>& Ar, sc::ScanChannel<T>& p) {
    for (int n = 0; n < NM; ++n) Ar.v[n] = active && n < s.N ? s.A[d * s.N + n] : T(0);
    p.Dv = active && !s.Dskip.empty() ? s.Dskip[d] : T(0);
    p.bias = active && !s.bias.empty() ? s.bias[d] : T(0);
    p.softplus = s.softplus;
    p.hasZ = !s.z.empty();
}

// Stages rows [t0, t0+len) of the block's channels (zeros past D), as stageRows does.
template <typename T>
void stage(const std::vector<T>& src, const ScanData<T>& s, int64_t b, int64_t t0, int len, int64_t d0, T* dst) {
    constexpr int S = sc::kScanThreads;
    for (int tid = 0; tid < S; ++tid)
        for (int i = 0; i < len; ++i)
            dst[i * S + tid] = d0 + tid < s.D ? src[(b * s.L + t0 + i) * s.D + d0 + tid] : T(0);
}
template <typename T>
void stageBC(const ScanData<T>& s, int64_t b, int64_t t0, int len, T* sB, T* sC) {
    for (int64_t idx = 0; idx < len * s.N; ++idx) {
        sB[idx] = s.Bm[(b * s.L + t0) * s.N + idx];
        sC[idx] = s.Cm[(b * s.L + t0) * s.N + idx];
    }
}

template <typename T, int NM>
ScanResult<T> emulateScan(const ScanData<T>& s, int chunk) {
    constexpr int S = sc::kScanThreads;
    const int64_t B = s.B, L = s.L, D = s.D, N = s.N, nCh = (L + chunk - 1) / chunk, groups = (D + S - 1) / S;
    const bool hasZ = !s.z.empty();
    ScanResult<T> r;
    r.y.assign(B * L * D, T(0));
    r.hLast.assign(B * D * N, T(0));
    r.du.assign(B * L * D, T(0));
    r.ddelta.assign(B * L * D, T(0));
    if (hasZ) r.dz.assign(B * L * D, T(0));
    r.dA.assign(D * N, T(0));
    r.dB.assign(B * L * N, T(0));
    r.dC.assign(B * L * N, T(0));
    r.dD.assign(D, T(0));
    r.dBias.assign(D, T(0));
    r.dh0.assign(B * D * N, T(0));
    std::vector<T> cs(B * nCh * N * D, T(0));  // the chunk-boundary states, (B, nChunks, N, D)
    std::vector<T> sU(sc::kMaxChunk * S), sDelta(sc::kMaxChunk * S), sZ(sc::kMaxChunk * S), sDy(sc::kMaxChunk * S);
    std::vector<T> sB(sc::kMaxChunk * NM), sC(sc::kMaxChunk * NM);
    std::vector<Row<T, NM>> Ar(S), h(S);
    std::vector<sc::ScanChannel<T>> p(S);

    // Forward: one block per (b, channel group).
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t grp = 0; grp < groups; ++grp) {
            const int64_t d0 = grp * S;
            for (int tid = 0; tid < S; ++tid) {
                const int64_t d = d0 + tid;
                const bool active = d < D;
                loadChannel(s, d, active, Ar[tid], p[tid]);
                for (int n = 0; n < NM; ++n) h[tid].v[n] = active && !s.h0.empty() && n < N ? s.h0[(b * D + d) * N + n] : T(0);
            }
            for (int64_t c = 0; c < nCh; ++c) {
                const int64_t t0 = c * chunk;
                const int len = int(std::min<int64_t>(chunk, L - t0));
                for (int tid = 0; tid < S && d0 + tid < D; ++tid)
                    for (int n = 0; n < N; ++n) cs[((b * nCh + c) * N + n) * D + d0 + tid] = h[tid].v[n];
                stage(s.u, s, b, t0, len, d0, sU.data());
                stage(s.delta, s, b, t0, len, d0, sDelta.data());
                if (hasZ) stage(s.z, s, b, t0, len, d0, sZ.data());
                stageBC(s, b, t0, len, sB.data(), sC.data());
                for (int tid = 0; tid < S; ++tid)
                    sc::scanForwardChunk<T, NM>(h[tid].v, Ar[tid].v, int(N), len, sB.data(), sC.data(), sU.data() + tid,
                                                sDelta.data() + tid, sZ.data() + tid, S, p[tid], sU.data() + tid);
                for (int tid = 0; tid < S && d0 + tid < D; ++tid)
                    for (int i = 0; i < len; ++i) r.y[(b * L + t0 + i) * D + d0 + tid] = sU[i * S + tid];
            }
            for (int tid = 0; tid < S && d0 + tid < D; ++tid)
                for (int n = 0; n < N; ++n) r.hLast[(b * D + d0 + tid) * N + n] = h[tid].v[n];
        }
    }

    // Backward: chunks last to first, each recomputed from its boundary state.
    std::vector<sc::ScanGradCarry<T, NM>> g(S);
    std::vector<T> hs((sc::kMaxChunk + 1) * NM), dts(sc::kMaxChunk), ss(sc::kMaxChunk);
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t grp = 0; grp < groups; ++grp) {
            const int64_t d0 = grp * S;
            for (int tid = 0; tid < S; ++tid) {
                const int64_t d = d0 + tid;
                const bool active = d < D;
                loadChannel(s, d, active, Ar[tid], p[tid]);
                for (int n = 0; n < NM; ++n) {
                    g[tid].dh[n] = active && !s.dhLast.empty() && n < N ? s.dhLast[(b * D + d) * N + n] : T(0);
                    g[tid].dA[n] = T(0);
                }
                g[tid].dD = g[tid].dBias = T(0);
            }
            for (int64_t c = nCh - 1; c >= 0; --c) {
                const int64_t t0 = c * chunk;
                const int len = int(std::min<int64_t>(chunk, L - t0));
                stage(s.u, s, b, t0, len, d0, sU.data());
                stage(s.delta, s, b, t0, len, d0, sDelta.data());
                stage(s.dy, s, b, t0, len, d0, sDy.data());
                if (hasZ) stage(s.z, s, b, t0, len, d0, sZ.data());
                stageBC(s, b, t0, len, sB.data(), sC.data());
                for (int tid = 0; tid < S; ++tid) {
                    const bool active = d0 + tid < D;
                    T hc[NM];
                    for (int n = 0; n < NM; ++n) hc[n] = active && n < N ? cs[((b * nCh + c) * N + n) * D + d0 + tid] : T(0);
                    sc::scanRecomputeChunk<T, NM>(hc, Ar[tid].v, int(N), len, sB.data(), sC.data(), sU.data() + tid,
                                                  sDelta.data() + tid, S, p[tid], hs.data(), dts.data(), ss.data());
                    sc::scanBackwardChunk<T, NM>(g[tid], Ar[tid].v, int(N), len, sB.data(), sC.data(), sU.data() + tid,
                                                 sDelta.data() + tid, sZ.data() + tid, sDy.data() + tid, S, p[tid],
                                                 hs.data(), dts.data(), ss.data(), r.dB.data() + (b * L + t0) * N,
                                                 r.dC.data() + (b * L + t0) * N, PlainAdd{}, sU.data() + tid,
                                                 sDelta.data() + tid, sZ.data() + tid);
                }
                for (int tid = 0; tid < S && d0 + tid < D; ++tid) {
                    for (int i = 0; i < len; ++i) {
                        const int64_t o = (b * L + t0 + i) * D + d0 + tid;
                        r.du[o] = sU[i * S + tid];
                        r.ddelta[o] = sDelta[i * S + tid];
                        if (hasZ) r.dz[o] = sZ[i * S + tid];
                    }
                }
            }
            for (int tid = 0; tid < S && d0 + tid < D; ++tid) {
                const int64_t d = d0 + tid;
                for (int n = 0; n < N; ++n) {
                    r.dA[d * N + n] += g[tid].dA[n];
                    r.dh0[(b * D + d) * N + n] = g[tid].dh[n];
                }
                r.dD[d] += g[tid].dD;
                r.dBias[d] += g[tid].dBias;
            }
        }
    }
    return r;
}

template <typename T>
void compareScan(const ScanCase& c, int chunk, double tol) {
    auto m = mts::test::makeScanProblem(c, 4242 + c.L * 3 + c.D + chunk);
    const auto o = torch::TensorOptions().dtype(torch::kFloat64);
    const Tensor wy = torch::randn({c.B, c.L, c.D}, o), wh = torch::randn({c.B, c.D, c.N}, o);
    auto ref = mts::test::scanOracle(m.in);
    auto refGrads = torch::autograd::grad({(ref.y * wy).sum() + (ref.lastState * wh).sum()}, m.leaves);

    ScanData<T> s;
    s.B = c.B, s.L = c.L, s.D = c.D, s.N = c.N, s.softplus = c.softplus;
    s.u = toVec<T>(m.in.u), s.delta = toVec<T>(m.in.delta), s.z = toVec<T>(m.in.z), s.A = toVec<T>(m.in.A);
    s.Bm = toVec<T>(m.in.Bm), s.Cm = toVec<T>(m.in.Cm), s.Dskip = toVec<T>(m.in.Dskip);
    s.bias = toVec<T>(m.in.deltaBias), s.h0 = toVec<T>(m.in.initialState);
    s.dy = toVec<T>(wy), s.dhLast = toVec<T>(wh);
    const ScanResult<T> r = c.N <= 16 ? emulateScan<T, 16>(s, chunk) : emulateScan<T, 64>(s, chunk);

    const std::string where = c.name() + " chunk " + std::to_string(chunk) + (sizeof(T) == 4 ? " float" : " double");
    EXPECT_LE(relErr(toTensor(r.y, {c.B, c.L, c.D}), ref.y), tol) << where << " y";
    EXPECT_LE(relErr(toTensor(r.hLast, {c.B, c.D, c.N}), ref.lastState), tol) << where << " lastState";
    for (size_t i = 0; i < m.leaves.size(); ++i) {
        const std::string& name = m.names[i];
        const auto shape = m.leaves[i].sizes();
        const std::vector<T>* got = name == "u"       ? &r.du
                                    : name == "delta" ? &r.ddelta
                                    : name == "A"     ? &r.dA
                                    : name == "Bm"    ? &r.dB
                                    : name == "Cm"    ? &r.dC
                                    : name == "Dskip" ? &r.dD
                                    : name == "z"     ? &r.dz
                                    : name == "deltaBias" ? &r.dBias
                                                          : &r.dh0;
        EXPECT_LE(relErr(toTensor(*got, shape), refGrads[i]), tol) << where << " d" << name;
    }
}

const std::vector<ScanCase>& scanCases() {
    static const std::vector<ScanCase> cs = {
        {2, 37, 45, 16, true, true, true, true, true},     // everything, tail threads (45 = 32 + 13)
        {1, 23, 32, 16, false, false, false, true, false},  // no z, D, bias, h0
        {2, 21, 7, 5, true, true, true, false, true},      // no softplus, N < 16 in the 16-slot registers
        {1, 19, 33, 40, true, true, false, true, false},   // N in the 64-slot registers
        {1, 1, 3, 16, true, true, true, true, true},       // a single step
    };
    return cs;
}

TEST(ScanCudaEmulation, DoubleMatchesOracleForEveryChunkLength) {
    for (int chunk : {1, 5, 16})  // 5 divides none of the lengths
        for (const auto& c : scanCases()) compareScan<double>(c, chunk, 1e-10);
}

TEST(ScanCudaEmulation, FloatMatchesOracle) {
    for (int chunk : {5, 16})
        for (const auto& c : scanCases()) compareScan<float>(c, chunk, 2e-4);
}

TEST(ScanCudaEmulation, MathHelpersMatchTheirDefinitions) {
    for (double x : {-30.0, -3.0, -0.5, 0.0, 0.7, 5.0, 19.9, 20.1, 40.0}) {
        EXPECT_NEAR(sc::softplus(x), x > 20 ? x : std::log1p(std::exp(x)), 1e-12) << x;
        EXPECT_NEAR(sc::sigmoid(x), 1.0 / (1.0 + std::exp(-x)), 1e-15) << x;
        const double e = 1e-6;
        EXPECT_NEAR(sc::siluGrad(x), (sc::silu(x + e) - sc::silu(x - e)) / (2 * e), 1e-7) << x;
        EXPECT_NEAR(double(sc::softplus(float(x))), x > 20 ? x : std::log1p(std::exp(x)), 1e-6 * (1 + std::abs(x)));
    }
}

// ---- causal conv ----

struct ConvCase {
    int64_t B, L, D, K;
    bool bias, silu, left;
};

// The conv kernel's grid, (channel, tile, sequence) threads, on vectors (dw, db summed as the
// atomics do).
template <typename T>
void emulateConv(const ConvCase& c, const std::vector<T>& x, const std::vector<T>& left, const std::vector<T>& wT,
                 const std::vector<T>& bias, const std::vector<T>& dyv, std::vector<T>& y, std::vector<T>& dx,
                 std::vector<T>& dw, std::vector<T>& db) {
    const int64_t B = c.B, L = c.L, D = c.D, K = c.K, tiles = (L + sc::kConvTile - 1) / sc::kConvTile;
    y.assign(B * L * D, T(0));
    dx.assign(B * L * D, T(0));
    dw.assign(K * D, T(0));
    db.assign(D, T(0));
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t tile = 0; tile < tiles; ++tile) {
            const int64_t t0 = tile * sc::kConvTile, t1 = std::min(L, t0 + sc::kConvTile);
            for (int64_t d = 0; d < D; ++d) {
                T w[sc::kConvMaxWidth], dwt[sc::kConvMaxWidth], dbt;
                for (int j = 0; j < K; ++j) w[j] = wT[j * D + d];
                const T bv = bias.empty() ? T(0) : bias[d];
                auto xAt = [&](long long s) -> T {
                    if (s >= 0) return x[(b * L + s) * D + d];
                    return left.empty() ? T(0) : left[(b * (K - 1) + K - 1 + s) * D + d];
                };
                auto dyAt = [&](long long s) -> T { return dyv[(b * L + s) * D + d]; };
                sc::convForwardTile<T>(w, int(K), bv, c.silu, t0, t1, xAt,
                                       [&](long long s, T v) { y[(b * L + s) * D + d] = v; });
                sc::convBackwardTile<T>(w, int(K), bv, c.silu, t0, t1, L, xAt, dyAt,
                                        [&](long long s, T v) { dx[(b * L + s) * D + d] = v; }, dwt, dbt);
                for (int j = 0; j < K; ++j) dw[j * D + d] += dwt[j];
                db[d] += dbt;
            }
        }
    }
}

template <typename T>
void compareConv(const ConvCase& c, double tol) {
    torch::manual_seed(77 + c.L + c.K);
    const auto o = torch::TensorOptions().dtype(torch::kFloat64);
    Tensor x = torch::randn({c.B, c.L, c.D}, o).requires_grad_(true);
    Tensor w = (torch::randn({c.D, c.K}, o) * 0.5).requires_grad_(true);
    Tensor bias = c.bias ? (torch::randn({c.D}, o) * 0.2).requires_grad_(true) : Tensor();
    Tensor left = c.left ? torch::randn({c.B, c.K - 1, c.D}, o) : Tensor();
    const Tensor wy = torch::randn({c.B, c.L, c.D}, o);
    // Oracle: y[t] = act(bias + sum_j w[:, j] x[t - K + 1 + j]), x before 0 from left or zero.
    Tensor xp = torch::cat({c.left ? left : torch::zeros({c.B, c.K - 1, c.D}, o), x}, 1);
    Tensor pre = torch::zeros({c.B, c.L, c.D}, o);
    for (int64_t j = 0; j < c.K; ++j) pre = pre + xp.narrow(1, j, c.L) * w.select(1, j);
    if (c.bias) pre = pre + bias;
    Tensor ref = c.silu ? torch::silu(pre) : pre;
    std::vector<Tensor> leaves = {x, w};
    if (c.bias) leaves.push_back(bias);
    auto grads = torch::autograd::grad({(ref * wy).sum()}, leaves);

    std::vector<T> y, dx, dw, db;
    emulateConv<T>(c, toVec<T>(x), toVec<T>(left), toVec<T>(w.t()), toVec<T>(bias), toVec<T>(wy), y, dx, dw, db);
    const std::string where = "B" + std::to_string(c.B) + " L" + std::to_string(c.L) + " D" + std::to_string(c.D) +
                              " K" + std::to_string(c.K) + (c.bias ? " bias" : "") + (c.silu ? " silu" : "") +
                              (c.left ? " left" : "");
    EXPECT_LE(relErr(toTensor(y, {c.B, c.L, c.D}), ref), tol) << where << " y";
    EXPECT_LE(relErr(toTensor(dx, {c.B, c.L, c.D}), grads[0]), tol) << where << " dx";
    EXPECT_LE(relErr(toTensor(dw, {c.K, c.D}).t(), grads[1]), tol) << where << " dw";
    if (c.bias) {
        EXPECT_LE(relErr(toTensor(db, {c.D}), grads[2]), tol) << where << " dbias";
    }
}

const std::vector<ConvCase>& convCases() {
    static const std::vector<ConvCase> cs = {
        {2, 70, 9, 4, true, true, false},   // three tiles, the last partial: rows past a tile recomputed
        {1, 33, 5, 4, true, true, true},    // left context
        {2, 40, 3, 3, false, false, false},  // width 3, no bias, no activation
        {1, 5, 4, 1, true, true, false},    // width 1
        {1, 3, 6, 4, true, true, true},     // shorter than the kernel
    };
    return cs;
}

TEST(ConvCudaEmulation, MatchesOracleInDoubleAndFloat) {
    for (const auto& c : convCases()) {
        compareConv<double>(c, 1e-12);
        compareConv<float>(c, 1e-5);
    }
}

}  // namespace

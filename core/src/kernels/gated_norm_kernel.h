// Gated RMSNorm kernels (see gated_rms_norm.h), over T, W SIMD lanes and IO storage.
// NO include guard on purpose: ssd_cpu_isa.cpp includes this file once per instruction-set
// region, after vec_exp_impl.h. Do not include it anywhere else.
// Forward: per row, g = y silu(z) into a row buffer with the sum of squares per group, then
// out = g * rstd * w. Backward recomputes silu(z) and g from y, z and the saved rstd.

template <typename T, int W, typename IO>
struct GatedNormKernel {
    using V = typename VecT<T, W>::V;
    using Args = ssd_cpu::GatedNormArgs<T, IO>;

    static void forward(const Args& a, int64_t r0, int64_t r1) {
        const int64_t dim = a.dim, K = dim / a.groups;
        std::vector<T> g(size_t(dim + W));
        for (int64_t r = r0; r < r1; ++r) {
            const IO* yr = a.y + r * a.ySR;
            const IO* zr = a.z + r * a.zSR;
            IO* o = a.out + r * dim;
            for (int64_t gi = 0; gi < a.groups; ++gi) {
                const int64_t c0 = gi * K;
                V ss = {};
                for (int64_t c = c0; c < c0 + K; c += W) {
                    const int m = int(std::min<int64_t>(W, c0 + K - c));
                    const V zv = vloadAs<T, W>(zr + c, m);
                    const V gv = vloadAs<T, W>(yr + c, m) * zv * vsigmoid<T, W>(zv);
                    vstoreN<T, W>(g.data() + c, gv, m);
                    ss += gv * gv;
                }
                const T rs = T(1) / std::sqrt(vsum<T, W>(ss) / T(K) + a.eps);
                a.rstd[r * a.groups + gi] = rs;
                const V rv = vsplat<T, W>(rs);
                for (int64_t c = c0; c < c0 + K; c += W) {
                    const int m = int(std::min<int64_t>(W, c0 + K - c));
                    vstoreAs<T, W>(o + c, vloadN<T, W>(g.data() + c, m) * rv * vloadN<T, W>(a.w + c, m), m);
                }
            }
        }
    }

    static void backward(const Args& a, int64_t t0, int64_t t1) {
        const int64_t dim = a.dim, K = dim / a.groups;
        std::vector<T> buf(size_t(3 * (dim + W)));
        T* g = buf.data();
        T* s = g + dim + W;
        T* sd = s + dim + W;  // d silu / dz
        for (int64_t t = t0; t < t1; ++t) {
            T* dw = a.dwPart + t * dim;
            std::fill(dw, dw + dim, T(0));
            const int64_t r0 = t * a.rows / a.tasks, r1 = (t + 1) * a.rows / a.tasks;
            for (int64_t r = r0; r < r1; ++r) {
                const IO* yr = a.y + r * a.ySR;
                const IO* zr = a.z + r * a.zSR;
                const IO* dor = a.dout + r * dim;
                IO* dyr = a.dy + r * dim;
                IO* dzr = a.dz + r * dim;
                for (int64_t gi = 0; gi < a.groups; ++gi) {
                    const int64_t c0 = gi * K;
                    const T rs = a.rstd[r * a.groups + gi];
                    const V rv = vsplat<T, W>(rs);
                    V dot = {};
                    for (int64_t c = c0; c < c0 + K; c += W) {
                        const int m = int(std::min<int64_t>(W, c0 + K - c));
                        const V zv = vloadAs<T, W>(zr + c, m);
                        const V sig = vsigmoid<T, W>(zv);
                        const V sv = zv * sig;
                        const V gv = vloadAs<T, W>(yr + c, m) * sv;
                        const V dov = vloadAs<T, W>(dor + c, m);
                        const V wv = vloadN<T, W>(a.w + c, m);
                        vstoreN<T, W>(g + c, gv, m);
                        vstoreN<T, W>(s + c, sv, m);
                        vstoreN<T, W>(sd + c, sig * (T(1) + zv * (T(1) - sig)), m);
                        dot += dov * wv * gv;
                        vstoreN<T, W>(dw + c, vloadN<T, W>(dw + c, m) + dov * gv * rv, m);
                    }
                    const V coef = vsplat<T, W>(rs * rs * rs * vsum<T, W>(dot) / T(K));
                    for (int64_t c = c0; c < c0 + K; c += W) {
                        const int m = int(std::min<int64_t>(W, c0 + K - c));
                        const V dov = vloadAs<T, W>(dor + c, m);
                        const V dg = rv * dov * vloadN<T, W>(a.w + c, m) - vloadN<T, W>(g + c, m) * coef;
                        vstoreAs<T, W>(dyr + c, dg * vloadN<T, W>(s + c, m), m);
                        vstoreAs<T, W>(dzr + c, dg * vloadAs<T, W>(yr + c, m) * vloadN<T, W>(sd + c, m), m);
                    }
                }
            }
        }
    }
};

template <typename T, int W, typename IO = T>
ssd_cpu::GatedNormKernelSet<T, IO> gatedNormKernelsFor() {
    ssd_cpu::GatedNormKernelSet<T, IO> k;
    k.forward = &GatedNormKernel<T, W, IO>::forward;
    k.backward = &GatedNormKernel<T, W, IO>::backward;
    return k;
}

// Per-ISA entry points (X-include for scan_cpu_isa.cpp; NO include guard on purpose).
// Expects kLanesF / kLanesD, vec_exp_impl.h and scan_cpu_kernel.h in the enclosing namespace.

template <typename T, int W, typename IO = T>
KernelSet<T, IO> kernelsFor(int64_t n) {
    KernelSet<T, IO> k;
    k.lanes = W;
    switch (n) {
    case 16:
        k.forward = &ScanKernel<T, W, 16, IO>::forward;
        k.backward = &ScanKernel<T, W, 16, IO>::backward;
        break;
    case 8:
        k.forward = &ScanKernel<T, W, 8, IO>::forward;
        k.backward = &ScanKernel<T, W, 8, IO>::backward;
        break;
    case 4:
        k.forward = &ScanKernel<T, W, 4, IO>::forward;
        k.backward = &ScanKernel<T, W, 4, IO>::backward;
        break;
    default:
        k.forward = &ScanKernel<T, W, 0, IO>::forward;
        k.backward = &ScanKernel<T, W, 0, IO>::backward;
    }
    return k;
}

inline KernelSet<float> kernelsF32(int64_t n) { return kernelsFor<float, kLanesF>(n); }
inline KernelSet<float, Bf16> kernelsBf16(int64_t n) { return kernelsFor<float, kLanesF, Bf16>(n); }
inline KernelSet<double> kernelsF64(int64_t n) { return kernelsFor<double, kLanesD>(n); }

// Functors, not lambdas: GCC does not apply the region's target pragma to lambda bodies.
template <typename T, int W>
struct ExpOp {
    typename VecT<T, W>::V operator()(typename VecT<T, W>::V v) const { return vexp<T, W>(v); }
};
template <typename T, int W>
struct Log1pOp {
    typename VecT<T, W>::V operator()(typename VecT<T, W>::V v) const { return vlog1p01<T, W>(v); }
};
template <typename T, int W>
struct Exp2Op {
    typename VecT<T, W>::V operator()(typename VecT<T, W>::V v) const { return vexp2<T, W>(v); }
};
template <typename T, int W>
struct SoftplusOp {
    typename VecT<T, W>::V operator()(typename VecT<T, W>::V v) const { return vsoftplus<T, W>(v); }
};

template <typename T, int W, typename F>
void mapArray(const T* x, T* y, int64_t n, F f) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vstore<T, W>(y + i, f(vload<T, W>(x + i)));
    if (i < n) vstoreN<T, W>(y + i, f(vloadN<T, W>(x + i, int(n - i))), int(n - i));
}

inline void vecExpF32(const float* x, float* y, int64_t n) { mapArray<float, kLanesF>(x, y, n, ExpOp<float, kLanesF>()); }
inline void vecExpF64(const double* x, double* y, int64_t n) {
    mapArray<double, kLanesD>(x, y, n, ExpOp<double, kLanesD>());
}
inline void vecExp2F32(const float* x, float* y, int64_t n) {
    mapArray<float, kLanesF>(x, y, n, Exp2Op<float, kLanesF>());
}
inline void vecExp2F64(const double* x, double* y, int64_t n) {
    mapArray<double, kLanesD>(x, y, n, Exp2Op<double, kLanesD>());
}
inline void vecSoftplusSigmoidF32(const float* x, float* sp, float* sig, int64_t n) {
    using V = typename VecT<float, kLanesF>::V;
    for (int64_t i = 0; i < n; i += kLanesF) {
        const int m = int(std::min<int64_t>(kLanesF, n - i));
        V s;
        const V out = vsoftplusSigmoid<float, kLanesF>(vloadN<float, kLanesF>(x + i, m), &s);
        vstoreN<float, kLanesF>(sp + i, out, m);
        vstoreN<float, kLanesF>(sig + i, s, m);
    }
}
// y[i] = x[i] as stored / loaded by vstoreAs / vloadAs with bfloat16 storage.
inline void vecToBf16F32(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i += kLanesF) {
        const int m = int(std::min<int64_t>(kLanesF, n - i));
        vstoreAs<float, kLanesF>(reinterpret_cast<Bf16*>(y + i), vloadN<float, kLanesF>(x + i, m), m);
    }
}
inline void vecFromBf16F32(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += kLanesF) {
        const int m = int(std::min<int64_t>(kLanesF, n - i));
        vstoreN<float, kLanesF>(y + i, vloadAs<float, kLanesF>(reinterpret_cast<const Bf16*>(x + i), m), m);
    }
}
inline void vecLog1p01F32(const float* x, float* y, int64_t n) {
    mapArray<float, kLanesF>(x, y, n, Log1pOp<float, kLanesF>());
}
inline void vecSoftplusF32(const float* x, float* y, int64_t n) {
    mapArray<float, kLanesF>(x, y, n, SoftplusOp<float, kLanesF>());
}

template <typename T, int W, typename IO = T>
ConvKernelSet<T, IO> convKernelsFor() {
    ConvKernelSet<T, IO> k;
    k.lanes = W;
    k.tasks = &ConvKernel<T, W, IO>::tasks;
    k.forward = &ConvKernel<T, W, IO>::forward;
    k.backward = &ConvKernel<T, W, IO>::backward;
    return k;
}
inline ConvKernelSet<float> convKernelsF32() { return convKernelsFor<float, kLanesF>(); }
inline ConvKernelSet<float, Bf16> convKernelsBf16() { return convKernelsFor<float, kLanesF, Bf16>(); }
inline ConvKernelSet<double> convKernelsF64() { return convKernelsFor<double, kLanesD>(); }

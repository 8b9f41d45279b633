// Compiles the vector math, the scan and the conv kernels once per instruction set and picks one at run
// time, so the binary runs on any x86-64 (and any other CPU, generic path) while using
// AVX-512 where present. Only raw-pointer code lives in the ISA regions: LibTorch's inline
// functions must never be compiled with AVX-512 enabled (the linker could keep that copy).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/scan_cpu_args.h"

// ISO C++ mode turns FMA contraction off; the kernels are written as a*b + c expecting it.
#if defined(__GNUC__) && !defined(__clang__)
#define MTS_SCAN_MULTI_ISA 1
#else
#define MTS_SCAN_MULTI_ISA 0
#endif

// Full unrolling of the loops over the state index (N is a template constant in the
// specialised kernels), so the states live in registers.
#if defined(__GNUC__) && !defined(__clang__)
#define MTS_SCAN_UNROLL _Pragma("GCC unroll 16")
#else
#define MTS_SCAN_UNROLL
#endif

#if MTS_SCAN_MULTI_ISA && defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2")
#pragma GCC optimize("fp-contract=fast")
namespace mts::scan_cpu::isa_avx512 {
constexpr int kLanesF = 16, kLanesD = 8;
#include "kernels/vec_exp_impl.h"
#include "kernels/scan_cpu_kernel.h"
#include "kernels/conv_cpu_kernel.h"
#include "kernels/scan_cpu_isa_entry.h"
}  // namespace mts::scan_cpu::isa_avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
#pragma GCC optimize("fp-contract=fast")
namespace mts::scan_cpu::isa_avx2 {
constexpr int kLanesF = 8, kLanesD = 4;
#include "kernels/vec_exp_impl.h"
#include "kernels/scan_cpu_kernel.h"
#include "kernels/conv_cpu_kernel.h"
#include "kernels/scan_cpu_isa_entry.h"
}  // namespace mts::scan_cpu::isa_avx2
#pragma GCC pop_options
#define MTS_SCAN_HAVE_X86 1
#else
#define MTS_SCAN_HAVE_X86 0
#endif

#if MTS_SCAN_MULTI_ISA
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif
namespace mts::scan_cpu::isa_generic {
constexpr int kLanesF = 4, kLanesD = 2;
#include "kernels/vec_exp_impl.h"
#include "kernels/scan_cpu_kernel.h"
#include "kernels/conv_cpu_kernel.h"
#include "kernels/scan_cpu_isa_entry.h"
}  // namespace mts::scan_cpu::isa_generic
#if MTS_SCAN_MULTI_ISA
#pragma GCC pop_options
#endif

namespace mts::scan_cpu {
namespace {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

Isa bestIsa() {
#if MTS_SCAN_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
    return Isa::Generic;
}

std::atomic<int> g_override{-1};

Isa active() {
    int o = g_override.load();
    if (o >= 0) return Isa(o);
    static const Isa best = bestIsa();
    return best;
}

const char* isaName(Isa i) {
    switch (i) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
    }
}

}  // namespace

std::vector<std::string> availableIsas() {
    std::vector<std::string> out;
    const Isa best = bestIsa();
    for (int i = int(best); i >= 0; --i) out.push_back(isaName(Isa(i)));
    return out;
}

void setIsaOverride(const std::string& isa) {
    if (isa.empty()) {
        g_override = -1;
        return;
    }
    for (int i = 0; i <= int(bestIsa()); ++i) {
        if (isa == isaName(Isa(i))) {
            g_override = i;
            return;
        }
    }
    throw std::invalid_argument("scan ISA not available on this CPU: " + isa);
}

std::string activeIsa() { return isaName(active()); }

#if MTS_SCAN_HAVE_X86
#define MTS_SCAN_DISPATCH(call)                               \
    switch (active()) {                                       \
    case Isa::Avx512: return isa_avx512::call;                \
    case Isa::Avx2: return isa_avx2::call;                    \
    default: return isa_generic::call;                        \
    }
#else
#define MTS_SCAN_DISPATCH(call) return isa_generic::call;
#endif

KernelSet<float> kernelsF32(int64_t n) { MTS_SCAN_DISPATCH(kernelsF32(n)) }
KernelSet<float, Bf16> kernelsBf16(int64_t n) { MTS_SCAN_DISPATCH(kernelsBf16(n)) }
KernelSet<double> kernelsF64(int64_t n) { MTS_SCAN_DISPATCH(kernelsF64(n)) }
ConvKernelSet<float> convKernelsF32() { MTS_SCAN_DISPATCH(convKernelsF32()) }
ConvKernelSet<float, Bf16> convKernelsBf16() { MTS_SCAN_DISPATCH(convKernelsBf16()) }
ConvKernelSet<double> convKernelsF64() { MTS_SCAN_DISPATCH(convKernelsF64()) }
void vecExp(const float* x, float* y, int64_t n) { MTS_SCAN_DISPATCH(vecExpF32(x, y, n)) }
void vecExp(const double* x, double* y, int64_t n) { MTS_SCAN_DISPATCH(vecExpF64(x, y, n)) }
void vecExp2(const float* x, float* y, int64_t n) { MTS_SCAN_DISPATCH(vecExp2F32(x, y, n)) }
void vecExp2(const double* x, double* y, int64_t n) { MTS_SCAN_DISPATCH(vecExp2F64(x, y, n)) }
void vecSoftplusSigmoid(const float* x, float* softplus, float* sigmoid, int64_t n) {
    MTS_SCAN_DISPATCH(vecSoftplusSigmoidF32(x, softplus, sigmoid, n))
}
void vecLog1p01(const float* x, float* y, int64_t n) { MTS_SCAN_DISPATCH(vecLog1p01F32(x, y, n)) }
void vecToBf16(const float* x, uint16_t* y, int64_t n) { MTS_SCAN_DISPATCH(vecToBf16F32(x, y, n)) }
void vecFromBf16(const uint16_t* x, float* y, int64_t n) { MTS_SCAN_DISPATCH(vecFromBf16F32(x, y, n)) }
void vecSoftplus(const float* x, float* y, int64_t n) { MTS_SCAN_DISPATCH(vecSoftplusF32(x, y, n)) }

}  // namespace mts::scan_cpu

// Compiles the fused SSD and gated-norm kernels (ssd_cpu_kernel.h, gated_norm_kernel.h) once per instruction set, as
// scan_cpu_isa.cpp does for the scan, and picks the scan's active ISA at run time. Only
// raw-pointer code lives in the ISA regions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* values when
// the unpack/shuffle intrinsics are inlined into a target region (transpose16x16).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#include "kernels/ssd_cpu_args.h"

#ifndef MTS_SSD_AVX512_REGION
#define MTS_SSD_AVX512_REGION 0
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define MTS_SSD_MULTI_ISA 1
#define MTS_SCAN_UNROLL _Pragma("GCC unroll 16")
#else
#define MTS_SSD_MULTI_ISA 0
#define MTS_SCAN_UNROLL
#endif

#if MTS_SSD_MULTI_ISA && defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2")
#pragma GCC optimize("fp-contract=fast")
#undef MTS_SSD_AVX512_REGION
#define MTS_SSD_AVX512_REGION 1
namespace mts::scan_cpu::ssd_avx512 {
constexpr int kLanesF = 16, kLanesD = 8;
#include "kernels/vec_exp_impl.h"
#include "kernels/ssd_cpu_kernel.h"
#include "kernels/gated_norm_kernel.h"
}  // namespace mts::scan_cpu::ssd_avx512
#undef MTS_SSD_AVX512_REGION
#define MTS_SSD_AVX512_REGION 0
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
#pragma GCC optimize("fp-contract=fast")
namespace mts::scan_cpu::ssd_avx2 {
constexpr int kLanesF = 8, kLanesD = 4;
#include "kernels/vec_exp_impl.h"
#include "kernels/ssd_cpu_kernel.h"
#include "kernels/gated_norm_kernel.h"
}  // namespace mts::scan_cpu::ssd_avx2
#pragma GCC pop_options
#define MTS_SSD_HAVE_X86 1
#else
#define MTS_SSD_HAVE_X86 0
#endif

#if MTS_SSD_MULTI_ISA
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif
namespace mts::scan_cpu::ssd_generic {
constexpr int kLanesF = 4, kLanesD = 2;
#include "kernels/vec_exp_impl.h"
#include "kernels/ssd_cpu_kernel.h"
#include "kernels/gated_norm_kernel.h"
}  // namespace mts::scan_cpu::ssd_generic
#if MTS_SSD_MULTI_ISA
#pragma GCC pop_options
#endif

namespace mts::ssd_cpu {

namespace {
// The scan's ISA choice (scan_cpu::setIsaOverride applies to the SSD too).
int activeLevel() {
#if MTS_SSD_HAVE_X86
    const std::string isa = scan_cpu::activeIsa();
    if (isa == "avx512") return 2;
    if (isa == "avx2") return 1;
#endif
    return 0;
}
}  // namespace

#if MTS_SSD_HAVE_X86
#define MTS_SSD_DISPATCH(T, WF, IO)                                                      \
    switch (activeLevel()) {                                                             \
    case 2: return scan_cpu::ssd_avx512::ssdKernelsFor<T, scan_cpu::ssd_avx512::WF, IO>(); \
    case 1: return scan_cpu::ssd_avx2::ssdKernelsFor<T, scan_cpu::ssd_avx2::WF, IO>();     \
    default: return scan_cpu::ssd_generic::ssdKernelsFor<T, scan_cpu::ssd_generic::WF, IO>(); \
    }
#else
#define MTS_SSD_DISPATCH(T, WF, IO) return scan_cpu::ssd_generic::ssdKernelsFor<T, scan_cpu::ssd_generic::WF, IO>();
#endif

SsdKernelSet<float> ssdKernelsF32() { MTS_SSD_DISPATCH(float, kLanesF, float) }
SsdKernelSet<float, Bf16> ssdKernelsBf16() { MTS_SSD_DISPATCH(float, kLanesF, Bf16) }
SsdKernelSet<double> ssdKernelsF64() { MTS_SSD_DISPATCH(double, kLanesD, double) }

#undef MTS_SSD_DISPATCH
#if MTS_SSD_HAVE_X86
#define MTS_SSD_DISPATCH(T, WF, IO)                                                               \
    switch (activeLevel()) {                                                                      \
    case 2: return scan_cpu::ssd_avx512::gatedNormKernelsFor<T, scan_cpu::ssd_avx512::WF, IO>();   \
    case 1: return scan_cpu::ssd_avx2::gatedNormKernelsFor<T, scan_cpu::ssd_avx2::WF, IO>();       \
    default: return scan_cpu::ssd_generic::gatedNormKernelsFor<T, scan_cpu::ssd_generic::WF, IO>(); \
    }
#else
#define MTS_SSD_DISPATCH(T, WF, IO) \
    return scan_cpu::ssd_generic::gatedNormKernelsFor<T, scan_cpu::ssd_generic::WF, IO>();
#endif

GatedNormKernelSet<float> gatedNormKernelsF32() { MTS_SSD_DISPATCH(float, kLanesF, float) }
GatedNormKernelSet<float, Bf16> gatedNormKernelsBf16() { MTS_SSD_DISPATCH(float, kLanesF, Bf16) }
GatedNormKernelSet<double> gatedNormKernelsF64() { MTS_SSD_DISPATCH(double, kLanesD, double) }

}  // namespace mts::ssd_cpu

// LibTorch side of the fused CPU scan: argument checks, the autograd function, parallel
// dispatch of the raw kernels in scan_cpu_isa.cpp.
#include "kernels/kernel_tensors.h"
#include "kernels/kernel_timing.h"

#include <atomic>
#include <chrono>
#include <type_traits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace mts {
namespace {

using torch::Tensor;

kernel::KernelClock g_clock;

using kernel::TimeInto;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using kernel::dataOf;
using kernel::lastDimContiguous;
using kernel::ptrOrNull;

// LibTorch 1.13's custom Function cannot take undefined tensors: absent optionals travel as
// empty tensors and are turned back into undefined ones inside.
Tensor orEmpty(const Tensor& t, const Tensor& like) { return t.defined() ? t : torch::empty({0}, like.options()); }
Tensor present(const Tensor& t) { return t.defined() && t.numel() > 0 ? t : Tensor(); }

struct Dims {
    int64_t B, L, D, N;
};

Dims checkShapes(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                 const Tensor& Dskip, const Tensor& z, const Tensor& bias, const Tensor& h0) {
    TORCH_CHECK(u.dim() == 3, "selective scan: u must be (B, L, D), got ", u.sizes());
    const int64_t B = u.size(0), L = u.size(1), D = u.size(2);
    TORCH_CHECK(A.dim() == 2 && A.size(0) == D, "selective scan: A must be (D, N) with D = ", D, ", got ",
                A.sizes());
    const int64_t N = A.size(1);
    TORCH_CHECK(N >= 1 && N <= scan_cpu::kMaxState, "selective scan (fused CPU): d_state must be in [1, ",
                scan_cpu::kMaxState, "], got ", N);
    TORCH_CHECK(delta.sizes() == u.sizes(), "selective scan: delta must match u ", u.sizes(), ", got ",
                delta.sizes());
    TORCH_CHECK(Bm.dim() == 3 && Bm.size(0) == B && Bm.size(1) == L && Bm.size(2) == N,
                "selective scan: Bm must be (B, L, N) = (", B, ", ", L, ", ", N, "), got ", Bm.sizes());
    TORCH_CHECK(Cm.sizes() == Bm.sizes(), "selective scan: Cm must be (B, L, N), got ", Cm.sizes());
    if (z.defined()) TORCH_CHECK(z.sizes() == u.sizes(), "selective scan: z must match u, got ", z.sizes());
    if (Dskip.defined())
        TORCH_CHECK(Dskip.dim() == 1 && Dskip.size(0) == D, "selective scan: Dskip must be (D), got ",
                    Dskip.sizes());
    if (bias.defined())
        TORCH_CHECK(bias.dim() == 1 && bias.size(0) == D, "selective scan: deltaBias must be (D), got ",
                    bias.sizes());
    if (h0.defined())
        TORCH_CHECK(h0.dim() == 3 && h0.size(0) == B && h0.size(1) == D && h0.size(2) == N,
                    "selective scan: initialState must be (B, D, N), got ", h0.sizes());
    for (const Tensor* t : {&u, &delta, &A, &Bm, &Cm, &Dskip, &z, &bias, &h0})
        if (t->defined()) TORCH_CHECK(t->device().is_cpu(), "selective scan (fused CPU): tensors must be on the CPU");
    return {B, L, D, N};
}

template <typename T, typename IO>
void setInputs(scan_cpu::ScanArgs<T, IO>& a, const Dims& d, const Tensor& u, const Tensor& delta, const Tensor& A,
               const Tensor& Bm, const Tensor& Cm, const Tensor& Dskip, const Tensor& z, const Tensor& bias,
               const Tensor& h0, bool softplus, int64_t chunk) {
    a.B = d.B;
    a.L = d.L;
    a.D = d.D;
    a.N = d.N;
    a.chunk = chunk;
    a.softplus = softplus;
    a.u = dataOf<IO>(u);
    a.uSB = u.stride(0);
    a.uSL = u.stride(1);
    a.delta = dataOf<IO>(delta);
    a.dSB = delta.stride(0);
    a.dSL = delta.stride(1);
    a.z = ptrOrNull<IO>(z);
    if (z.defined()) {
        a.zSB = z.stride(0);
        a.zSL = z.stride(1);
    }
    a.Bm = Bm.data_ptr<T>();
    a.bSB = Bm.stride(0);
    a.bSL = Bm.stride(1);
    a.Cm = Cm.data_ptr<T>();
    a.cSB = Cm.stride(0);
    a.cSL = Cm.stride(1);
    a.A = A.data_ptr<T>();
    a.Dskip = ptrOrNull<T>(Dskip);
    a.bias = ptrOrNull<T>(bias);
    a.h0 = ptrOrNull<T>(h0);
}

template <typename T, typename IO>
scan_cpu::KernelSet<T, IO> kernelsFor(int64_t n) {
    if constexpr (std::is_same_v<T, double>) {
        return scan_cpu::kernelsF64(n);
    } else if constexpr (std::is_same_v<IO, scan_cpu::Bf16>) {
        return scan_cpu::kernelsBf16(n);
    } else {
        return scan_cpu::kernelsF32(n);
    }
}

int64_t taskCount(const Dims& d, int lanes) { return d.B * ((d.D + lanes - 1) / lanes); }

// Forward: y (B, L, D) in u's dtype, hLast (B, D, N) and chunk states (B, nChunks, N, D, when
// saveStates) in A's.
template <typename T, typename IO>
void runForward(const Dims& d, const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& Bm,
                const Tensor& Cm, const Tensor& Dskip, const Tensor& z, const Tensor& bias, const Tensor& h0,
                bool softplus, int64_t chunk, Tensor& y, Tensor& hLast, Tensor& states, bool saveStates) {
    TimeInto timer{g_clock.fwdNs, g_clock.fwdCalls};
    scan_cpu::ScanArgs<T, IO> a;
    setInputs(a, d, u, delta, A, Bm, Cm, Dskip, z, bias, h0, softplus, chunk);
    const auto opts = A.options();
    y = torch::empty({d.B, d.L, d.D}, u.options());
    hLast = torch::empty({d.B, d.D, d.N}, opts);
    a.y = dataOf<IO>(y);
    a.hLast = hLast.data_ptr<T>();
    if (saveStates) {
        states = torch::empty({d.B, (d.L + chunk - 1) / chunk, d.N, d.D}, opts);
        a.chunkStates = states.data_ptr<T>();
    }
    const auto k = kernelsFor<T, IO>(d.N);
    at::parallel_for(0, taskCount(d, k.lanes), 1, [&](int64_t b, int64_t e) { k.forward(a, b, e); });
}

class FusedScanFunction : public torch::autograd::Function<FusedScanFunction> {
public:
    static variable_list forward(AutogradContext* ctx, Tensor u, Tensor delta, Tensor A, Tensor Bm, Tensor Cm,
                                 Tensor Dskip, Tensor z, Tensor bias, Tensor h0, bool softplus, int64_t chunk) {
        Dskip = present(Dskip);
        z = present(z);
        bias = present(bias);
        h0 = present(h0);
        const Dims d = checkShapes(u, delta, A, Bm, Cm, Dskip, z, bias, h0);
        Tensor y, hLast, states;
        kernel::dispatchStorage(u.scalar_type(), "selective scan (fused CPU)", [&](auto t, auto io) {
            runForward<decltype(t), decltype(io)>(d, u, delta, A, Bm, Cm, Dskip, z, bias, h0, softplus, chunk, y,
                                                  hLast, states, true);
        });
        ctx->save_for_backward({u, delta, A, Bm, Cm, Dskip, z, bias, h0, states});
        ctx->saved_data["softplus"] = softplus;
        ctx->saved_data["chunk"] = chunk;
        return {y, hLast};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        TimeInto timer{g_clock.bwdNs, g_clock.bwdCalls};
        auto saved = ctx->get_saved_variables();
        const Tensor &u = saved[0], &delta = saved[1], &A = saved[2], &Bm = saved[3], &Cm = saved[4],
                     &states = saved[9];
        const Tensor Dskip = present(saved[5]), z = present(saved[6]), bias = present(saved[7]), h0 = present(saved[8]);
        const bool softplus = ctx->saved_data["softplus"].toBool();
        const int64_t chunk = ctx->saved_data["chunk"].toInt();
        const Dims d{u.size(0), u.size(1), u.size(2), A.size(1)};
        // Activation gradients in the activations' dtype (bf16 under autocast), the rest in A's.
        const auto ioOpts = u.options(), opts = A.options();
        Tensor dy = grads[0].defined() ? lastDimContiguous(grads[0].to(u.scalar_type()))
                                       : torch::zeros({d.B, d.L, d.D}, ioOpts);
        Tensor dhLast = grads[1].defined() ? grads[1].to(A.scalar_type()).contiguous() : Tensor();
        Tensor du = torch::empty({d.B, d.L, d.D}, ioOpts);
        Tensor ddelta = torch::empty({d.B, d.L, d.D}, ioOpts);
        Tensor dz = z.defined() ? torch::empty({d.B, d.L, d.D}, ioOpts) : Tensor();
        Tensor dB = torch::zeros({d.B, d.L, d.N}, opts);
        Tensor dC = torch::zeros({d.B, d.L, d.N}, opts);
        Tensor dAPart = torch::empty({d.B, d.D, d.N}, opts);
        Tensor dDPart = Dskip.defined() ? torch::empty({d.B, d.D}, opts) : Tensor();
        Tensor dBiasPart = bias.defined() ? torch::empty({d.B, d.D}, opts) : Tensor();
        Tensor dh0 = h0.defined() ? torch::empty({d.B, d.D, d.N}, opts) : Tensor();
        kernel::dispatchStorage(u.scalar_type(), "selective scan (fused CPU)", [&](auto tTag, auto ioTag) {
            using T = decltype(tTag);
            using IO = decltype(ioTag);
            scan_cpu::ScanArgs<T, IO> a;
            setInputs(a, d, u, delta, A, Bm, Cm, Dskip, z, bias, h0, softplus, chunk);
            a.chunkStates = states.data_ptr<T>();
            a.dy = dataOf<IO>(dy);
            a.dySB = dy.stride(0);
            a.dySL = dy.stride(1);
            a.dhLast = ptrOrNull<T>(dhLast);
            a.du = dataOf<IO>(du);
            a.ddelta = dataOf<IO>(ddelta);
            a.dz = ptrOrNull<IO>(dz);
            a.dB = dB.data_ptr<T>();
            a.dC = dC.data_ptr<T>();
            a.dAPart = dAPart.data_ptr<T>();
            a.dDPart = ptrOrNull<T>(dDPart);
            a.dBiasPart = ptrOrNull<T>(dBiasPart);
            a.dh0 = ptrOrNull<T>(dh0);
            const auto k = kernelsFor<T, IO>(d.N);
            // Whole sequences per task when there are enough of them for the threads (and some
            // balance); otherwise each sequence's channel blocks are split into groups.
            const int64_t blocks = (d.D + k.lanes - 1) / k.lanes;
            const int64_t want = 2 * int64_t(at::get_num_threads());
            a.groups = std::min<int64_t>(blocks, std::max<int64_t>(1, (want + d.B - 1) / d.B));
            std::mutex reduce;
            at::parallel_for(0, d.B * a.groups, 1, [&](int64_t b, int64_t e) { k.backward(a, b, e, reduce); });
        });
        return {du,
                ddelta,
                dAPart.sum(0),
                dB,
                dC,
                Dskip.defined() ? dDPart.sum(0) : Tensor(),
                dz,
                bias.defined() ? dBiasPart.sum(0) : Tensor(),
                dh0,
                Tensor(),
                Tensor()};
    }
};

Tensor prep(const Tensor& t, at::ScalarType dtype) {
    if (!t.defined()) return t;
    return lastDimContiguous(t.scalar_type() == dtype ? t : t.to(dtype));
}

}  // namespace

namespace scan_cpu {
ScanTimes scanTimes() { return g_clock.read<ScanTimes>(); }
void resetScanTimes() { g_clock.reset(); }
}  // namespace scan_cpu

ScanOutputs selectiveScanFusedCpu(const ScanInputs& in, bool returnLastState) {
    TORCH_CHECK(in.u.defined() && in.delta.defined() && in.A.defined() && in.Bm.defined() && in.Cm.defined(),
                "selective scan: u, delta, A, Bm and Cm are required");
    // The scan computes in fp32 (fp64 for the gradient tests) whatever autocast chose upstream.
    // bf16 activations (u, delta and z all bf16, as autocast leaves them) are read and written
    // as bf16 by the kernels, with no conversion pass: y and their gradients come out bf16.
    const at::ScalarType dtype = in.u.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto isBf16 = [](const Tensor& t) { return !t.defined() || t.scalar_type() == torch::kBFloat16; };
    const at::ScalarType io =
        in.u.scalar_type() == torch::kBFloat16 && isBf16(in.delta) && isBf16(in.z) ? torch::kBFloat16 : dtype;
    Tensor u = prep(in.u, io), delta = prep(in.delta, io), A = prep(in.A, dtype).contiguous(),
           Bm = prep(in.Bm, dtype), Cm = prep(in.Cm, dtype), Dskip = prep(in.Dskip, dtype),
           z = prep(in.z, io), bias = prep(in.deltaBias, dtype), h0 = prep(in.initialState, dtype);
    if (Dskip.defined()) Dskip = Dskip.contiguous();
    if (bias.defined()) bias = bias.contiguous();
    if (h0.defined()) h0 = h0.contiguous();
    const int64_t chunk = scan_cpu::kDefaultChunk;

    bool needGrad = false;
    if (torch::GradMode::is_enabled()) {
        for (const Tensor* t : {&u, &delta, &A, &Bm, &Cm, &Dskip, &z, &bias, &h0})
            needGrad = needGrad || (t->defined() && t->requires_grad());
    }
    ScanOutputs out;
    if (needGrad) {
        auto r = FusedScanFunction::apply(u, delta, A, Bm, Cm, orEmpty(Dskip, u), orEmpty(z, u), orEmpty(bias, u),
                                          orEmpty(h0, u), in.deltaSoftplus, chunk);
        out.y = r[0];
        if (returnLastState) out.lastState = r[1];
        return out;
    }
    const Dims d = checkShapes(u, delta, A, Bm, Cm, Dskip, z, bias, h0);
    Tensor y, hLast, states;
    kernel::dispatchStorage(io, "selective scan (fused CPU)", [&](auto t, auto ioTag) {
        runForward<decltype(t), decltype(ioTag)>(d, u, delta, A, Bm, Cm, Dskip, z, bias, h0, in.deltaSoftplus,
                                                 chunk, y, hLast, states, false);
    });
    out.y = y;
    if (returnLastState) out.lastState = hLast;
    return out;
}

}  // namespace mts

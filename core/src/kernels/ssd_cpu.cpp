// LibTorch side of the fused CPU SSD (ssd_cpu.h): argument preparation, the autograd function,
// the parallel dispatch of the raw kernels in ssd_cpu_isa.cpp.
#include "mts/core/kernels/ssd_cpu.h"

#include <atomic>
#include <chrono>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/kernel_tensors.h"
#include "kernels/kernel_timing.h"
#include "kernels/ssd_cpu_args.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using kernel::dataOf;
using kernel::ptrOrNull;

kernel::KernelClock g_clock;

using kernel::TimeInto;

// LibTorch 1.13's custom Function cannot take undefined tensors: absent optionals travel as
// empty tensors.
Tensor orEmpty(const Tensor& t, const Tensor& like) { return t.defined() ? t : torch::empty({0}, like.options()); }
Tensor present(const Tensor& t) { return t.defined() && t.numel() > 0 ? t : Tensor(); }

// Head splits per group: enough work items for the threads (about two each), whole groups
// when there are already enough; a divisor of the heads per group.
int64_t headSplits(int64_t b, int64_t g, int64_t hg) {
    const int64_t want = 2 * int64_t(at::get_num_threads());
    int64_t s = std::min<int64_t>(hg, std::max<int64_t>(1, (want + b * g - 1) / (b * g)));
    while (hg % s != 0) ++s;
    return s;
}

template <typename T, typename IO>
ssd_cpu::SsdKernelSet<T, IO> kernelsFor() {
    if constexpr (std::is_same_v<T, double>)
        return ssd_cpu::ssdKernelsF64();
    else if constexpr (std::is_same_v<IO, scan_cpu::Bf16>)
        return ssd_cpu::ssdKernelsBf16();
    else
        return ssd_cpu::ssdKernelsF32();
}

template <typename T, typename IO>
ssd_cpu::SsdArgs<T, IO> argsFor(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                                const Tensor& Cm, const Tensor& D, const Tensor& h0, int64_t q) {
    ssd_cpu::SsdArgs<T, IO> a;
    a.B = x.size(0);
    a.L = x.size(1);
    a.H = x.size(2);
    a.P = x.size(3);
    a.G = Bm.size(2);
    a.N = Bm.size(3);
    a.Q = q;
    a.splits = headSplits(a.B, a.G, a.H / a.G);
    a.x = dataOf<IO>(x);
    a.xSB = x.stride(0);
    a.xSL = x.stride(1);
    a.xSH = x.stride(2);
    a.Bm = dataOf<IO>(Bm);
    a.bSB = Bm.stride(0);
    a.bSL = Bm.stride(1);
    a.bSG = Bm.stride(2);
    a.Cm = dataOf<IO>(Cm);
    a.cSB = Cm.stride(0);
    a.cSL = Cm.stride(1);
    a.cSG = Cm.stride(2);
    a.dt = dt.data_ptr<T>();
    a.A = A.data_ptr<T>();
    a.D = ptrOrNull<T>(D);
    a.h0 = ptrOrNull<T>(h0);
    return a;
}

int64_t items(int64_t b, int64_t g, int64_t splits) { return b * g * splits; }

// y (B, L, H, P) in x's dtype, hLast (B, H, P, N) and, when saveStates, the chunk states.
template <typename T, typename IO>
void runForward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                const Tensor& D, const Tensor& h0, int64_t q, bool saveStates, Tensor& y, Tensor& hLast,
                Tensor& states) {
    TimeInto timer{g_clock.fwdNs, g_clock.fwdCalls};
    auto a = argsFor<T, IO>(x, dt, A, Bm, Cm, D, h0, q);
    y = torch::empty({a.B, a.L, a.H, a.P}, x.options());
    hLast = torch::empty({a.B, a.H, a.P, a.N}, A.options());
    a.y = dataOf<IO>(y);
    a.hLast = hLast.data_ptr<T>();
    if (saveStates) {
        states = torch::empty({a.B, a.H, (a.L + q - 1) / q, a.N, a.P}, A.options());
        a.states = states.data_ptr<T>();
    }
    const auto k = kernelsFor<T, IO>();
    at::parallel_for(0, items(a.B, a.G, a.splits), 1, [&](int64_t b, int64_t e) { k.forward(a, b, e); });
}

class FusedSsdFunction : public torch::autograd::Function<FusedSsdFunction> {
public:
    static variable_list forward(AutogradContext* ctx, Tensor x, Tensor dt, Tensor A, Tensor Bm, Tensor Cm, Tensor D,
                                 Tensor h0, int64_t q) {
        D = present(D);
        h0 = present(h0);
        Tensor y, hLast, states;
        kernel::dispatchStorage(x.scalar_type(), "SSD (fused CPU)", [&](auto t, auto io) {
            runForward<decltype(t), decltype(io)>(x, dt, A, Bm, Cm, D, h0, q, true, y, hLast, states);
        });
        ctx->save_for_backward({x, dt, A, Bm, Cm, D, h0, states});
        ctx->saved_data["q"] = q;
        ctx->saved_data["hasD"] = D.defined();
        ctx->saved_data["hasH0"] = h0.defined();
        return {y, hLast};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        TimeInto timer{g_clock.bwdNs, g_clock.bwdCalls};
        auto saved = ctx->get_saved_variables();
        const Tensor &x = saved[0], &dt = saved[1], &A = saved[2], &Bm = saved[3], &Cm = saved[4], &states = saved[7];
        const Tensor D = ctx->saved_data["hasD"].toBool() ? saved[5] : Tensor();
        const Tensor h0 = ctx->saved_data["hasH0"].toBool() ? saved[6] : Tensor();
        const int64_t q = ctx->saved_data["q"].toInt();
        Tensor dx, ddt, dBm, dCm, dA, dD, dh0;
        kernel::dispatchStorage(x.scalar_type(), "SSD (fused CPU)", [&](auto tTag, auto ioTag) {
            using T = decltype(tTag);
            using IO = decltype(ioTag);
            auto a = argsFor<T, IO>(x, dt, A, Bm, Cm, D, h0, q);
            const auto opts = A.options();
            const Tensor dy = grads[0].defined() ? grads[0].to(x.scalar_type()).contiguous()
                                                 : torch::zeros({a.B, a.L, a.H, a.P}, x.options());
            const Tensor dhLast = grads[1].defined() ? grads[1].to(A.scalar_type()).contiguous() : Tensor();
            dx = torch::empty({a.B, a.L, a.H, a.P}, x.options());
            ddt = torch::empty({a.B, a.L, a.H}, opts);
            Tensor dBPart = torch::empty({a.splits, a.B, a.L, a.G, a.N}, opts);
            Tensor dCPart = torch::empty({a.splits, a.B, a.L, a.G, a.N}, opts);
            Tensor dAPart = torch::empty({a.B, a.H}, opts);
            Tensor dDPart = D.defined() ? torch::empty({a.B, a.H}, opts) : Tensor();
            if (h0.defined()) dh0 = torch::empty({a.B, a.H, a.P, a.N}, opts);
            a.states = states.data_ptr<T>();
            a.dy = dataOf<IO>(dy);
            a.dhLast = ptrOrNull<T>(dhLast);
            a.dx = dataOf<IO>(dx);
            a.ddt = ddt.data_ptr<T>();
            a.dBPart = dBPart.data_ptr<T>();
            a.dCPart = dCPart.data_ptr<T>();
            a.dAPart = dAPart.data_ptr<T>();
            a.dDPart = ptrOrNull<T>(dDPart);
            a.dh0 = ptrOrNull<T>(dh0);
            const auto k = kernelsFor<T, IO>();
            at::parallel_for(0, items(a.B, a.G, a.splits), 1, [&](int64_t b, int64_t e) { k.backward(a, b, e); });
            dBm = (a.splits == 1 ? dBPart.squeeze(0) : dBPart.sum(0)).to(Bm.scalar_type());
            dCm = (a.splits == 1 ? dCPart.squeeze(0) : dCPart.sum(0)).to(Cm.scalar_type());
            dA = dAPart.sum(0);
            if (D.defined()) dD = dDPart.sum(0);
        });
        return {dx, ddt, dA, dBm, dCm, dD, dh0, Tensor()};
    }
};

Tensor lastContiguous(const Tensor& t, at::ScalarType dtype) {
    if (!t.defined()) return t;
    return kernel::lastDimContiguous(t.scalar_type() == dtype ? t : t.to(dtype));
}

Tensor dense(const Tensor& t, at::ScalarType dtype) {
    if (!t.defined()) return t;
    return (t.scalar_type() == dtype ? t : t.to(dtype)).contiguous();
}

}  // namespace

namespace ssd_cpu {
SsdTimes ssdTimes() { return g_clock.read<SsdTimes>(); }
void resetSsdTimes() { g_clock.reset(); }
}  // namespace ssd_cpu

SsdOutputs ssdFusedCpu(const SsdInputs& in, int64_t chunkSize, bool returnFinalState) {
    checkSsdInputs(in);
    if (chunkSize < 1) throw std::invalid_argument("SSD: chunk size must be >= 1, got " + std::to_string(chunkSize));
    for (const Tensor* t : {&in.x, &in.dt, &in.A, &in.Bm, &in.Cm, &in.D, &in.initialState})
        if (t->defined()) TORCH_CHECK(t->device().is_cpu(), "SSD (fused CPU): tensors must be on the CPU");
    compat::AutocastOff noAutocast;
    const at::ScalarType ct = in.x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const bool bf16 = in.x.scalar_type() == torch::kBFloat16 && in.Bm.scalar_type() == torch::kBFloat16 &&
                      in.Cm.scalar_type() == torch::kBFloat16;
    const at::ScalarType io = bf16 ? torch::kBFloat16 : ct;
    const int64_t q = std::min(chunkSize, std::max<int64_t>(in.x.size(1), 1));
    const Tensor x = lastContiguous(in.x, io), bm = lastContiguous(in.Bm, io), cm = lastContiguous(in.Cm, io);
    const Tensor dt = dense(in.dt, ct), A = dense(in.A, ct), D = dense(in.D, ct), h0 = dense(in.initialState, ct);

    bool needGrad = false;
    if (torch::GradMode::is_enabled())
        for (const Tensor* t : {&x, &dt, &A, &bm, &cm, &D, &h0})
            needGrad = needGrad || (t->defined() && t->requires_grad());
    SsdOutputs out;
    if (needGrad) {
        auto r = FusedSsdFunction::apply(x, dt, A, bm, cm, orEmpty(D, A), orEmpty(h0, A), q);
        out.y = r[0];
        if (returnFinalState) out.finalState = r[1];
        return out;
    }
    Tensor y, hLast, states;
    kernel::dispatchStorage(io, "SSD (fused CPU)", [&](auto t, auto ioTag) {
        runForward<decltype(t), decltype(ioTag)>(x, dt, A, bm, cm, D, h0, q, false, y, hLast, states);
    });
    out.y = y;
    if (returnFinalState) out.finalState = hLast;
    return out;
}

}  // namespace mts

// LibTorch side of the fused CUDA kernels: argument checks, dtype choice, the autograd
// functions, launches on the current CUDA stream (cuda_launch.h). Compiled only when the
// LibTorch has CUDA (cmake/MtsCuda.cmake); cuda_absent.cpp otherwise.
#include "kernels/cuda/kernels_cuda.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels/cuda/cuda_launch.h"
#include "kernels/cuda/scan_cuda_math.cuh"

namespace mts::scan_cuda {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// LibTorch 1.13's custom Function cannot take undefined tensors: absent optionals travel as
// empty tensors and are turned back into undefined ones inside.
Tensor orEmpty(const Tensor& t, const Tensor& like) { return t.defined() ? t : torch::empty({0}, like.options()); }
Tensor present(const Tensor& t) { return t.defined() && t.numel() > 0 ? t : Tensor(); }
const void* ptr(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }
void* mptr(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }
Tensor lastDimContiguous(const Tensor& t) { return !t.defined() || t.stride(-1) == 1 ? t : t.contiguous(); }

IoType ioTypeOf(at::ScalarType t) {
    switch (t) {
        case at::kDouble: return IoType::F64;
        case at::kHalf: return IoType::F16;
        case at::kBFloat16: return IoType::BF16;
        default: return IoType::F32;
    }
}

void check(int code, const char* what) {
    TORCH_CHECK(code == 0, what, ": CUDA launch failed: ", errorText(code));
}

cudaStream_t currentStream(const Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

void checkScan(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
               const Tensor& Dskip, const Tensor& z, const Tensor& bias, const Tensor& h0) {
    TORCH_CHECK(u.dim() == 3, "selective scan (CUDA): u must be (B, L, D), got ", u.sizes());
    const int64_t B = u.size(0), L = u.size(1), D = u.size(2);
    TORCH_CHECK(A.dim() == 2 && A.size(0) == D, "selective scan (CUDA): A must be (D, N) with D = ", D, ", got ",
                A.sizes());
    const int64_t N = A.size(1);
    TORCH_CHECK(N >= 1 && N <= maxState(), "selective scan (CUDA): d_state must be in [1, ", maxState(), "], got ", N);
    TORCH_CHECK(B <= 65535, "selective scan (CUDA): batch must be <= 65535, got ", B);
    TORCH_CHECK(delta.sizes() == u.sizes(), "selective scan (CUDA): delta must match u ", u.sizes(), ", got ",
                delta.sizes());
    TORCH_CHECK(Bm.dim() == 3 && Bm.size(0) == B && Bm.size(1) == L && Bm.size(2) == N,
                "selective scan (CUDA): Bm must be (B, L, N) = (", B, ", ", L, ", ", N, "), got ", Bm.sizes());
    TORCH_CHECK(Cm.sizes() == Bm.sizes(), "selective scan (CUDA): Cm must be (B, L, N), got ", Cm.sizes());
    if (z.defined()) TORCH_CHECK(z.sizes() == u.sizes(), "selective scan (CUDA): z must match u, got ", z.sizes());
    if (Dskip.defined())
        TORCH_CHECK(Dskip.dim() == 1 && Dskip.size(0) == D, "selective scan (CUDA): Dskip must be (D), got ",
                    Dskip.sizes());
    if (bias.defined())
        TORCH_CHECK(bias.dim() == 1 && bias.size(0) == D, "selective scan (CUDA): deltaBias must be (D), got ",
                    bias.sizes());
    if (h0.defined())
        TORCH_CHECK(h0.dim() == 3 && h0.size(0) == B && h0.size(1) == D && h0.size(2) == N,
                    "selective scan (CUDA): initialState must be (B, D, N), got ", h0.sizes());
    for (const Tensor* t : {&u, &delta, &A, &Bm, &Cm, &Dskip, &z, &bias, &h0})
        if (t->defined())
            TORCH_CHECK(t->is_cuda() && t->device() == u.device(),
                        "selective scan (CUDA): every tensor must be on u's CUDA device (", u.device(), "), got ",
                        t->device());
}

ScanLaunchArgs scanArgs(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                        const Tensor& Dskip, const Tensor& z, const Tensor& bias, const Tensor& h0, bool softplus) {
    ScanLaunchArgs a;
    a.B = u.size(0);
    a.L = u.size(1);
    a.D = u.size(2);
    a.N = A.size(1);
    a.chunk = kMaxChunk;
    a.softplus = softplus;
    a.io = ioTypeOf(u.scalar_type());
    a.u = ptr(u);
    a.uSB = u.stride(0);
    a.uSL = u.stride(1);
    a.delta = ptr(delta);
    a.dSB = delta.stride(0);
    a.dSL = delta.stride(1);
    if (z.defined()) {
        a.z = ptr(z);
        a.zSB = z.stride(0);
        a.zSL = z.stride(1);
    }
    a.Bm = ptr(Bm);
    a.bSB = Bm.stride(0);
    a.bSL = Bm.stride(1);
    a.Cm = ptr(Cm);
    a.cSB = Cm.stride(0);
    a.cSL = Cm.stride(1);
    a.A = ptr(A);
    a.Dskip = ptr(Dskip);
    a.bias = ptr(bias);
    a.h0 = ptr(h0);
    return a;
}

// Forward: y (B, L, D) in u's dtype, hLast (B, D, N) and the chunk states (B, nChunks, N, D,
// when saveStates) in A's.
void runForward(ScanLaunchArgs a, const Tensor& u, const Tensor& A, Tensor& y, Tensor& hLast, Tensor& states,
                bool saveStates) {
    y = torch::empty({a.B, a.L, a.D}, u.options());
    hLast = torch::empty({a.B, a.D, a.N}, A.options());
    a.y = mptr(y);
    a.hLast = mptr(hLast);
    if (saveStates) {
        states = torch::empty({a.B, (a.L + a.chunk - 1) / a.chunk, a.N, a.D}, A.options());
        a.chunkStates = mptr(states);
    }
    check(scanForward(a, currentStream(u)), "selective scan (CUDA) forward");
}

class CudaScanFunction : public torch::autograd::Function<CudaScanFunction> {
public:
    // Absent optionals arrive (and are saved) as empty tensors.
    static variable_list forward(AutogradContext* ctx, Tensor u, Tensor delta, Tensor A, Tensor Bm, Tensor Cm,
                                 Tensor Dskip, Tensor z, Tensor bias, Tensor h0, bool softplus) {
        const c10::cuda::CUDAGuard guard(u.device());
        Tensor y, hLast, states;
        runForward(scanArgs(u, delta, A, Bm, Cm, present(Dskip), present(z), present(bias), present(h0), softplus), u,
                   A, y, hLast, states, true);
        ctx->save_for_backward({u, delta, A, Bm, Cm, Dskip, z, bias, h0, states});
        ctx->saved_data["softplus"] = softplus;
        return {y, hLast};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const Tensor &u = saved[0], &delta = saved[1], &A = saved[2], &Bm = saved[3], &Cm = saved[4],
                     &states = saved[9];
        const Tensor Dskip = present(saved[5]), z = present(saved[6]), bias = present(saved[7]),
                     h0 = present(saved[8]);
        const c10::cuda::CUDAGuard guard(u.device());
        ScanLaunchArgs a = scanArgs(u, delta, A, Bm, Cm, Dskip, z, bias, h0, ctx->saved_data["softplus"].toBool());
        // Activation gradients in the activations' dtype, the rest in A's (the compute type).
        const auto ioOpts = u.options(), opts = A.options();
        Tensor dy = grads[0].defined() ? lastDimContiguous(grads[0].to(u.scalar_type()))
                                       : torch::zeros({a.B, a.L, a.D}, ioOpts);
        Tensor dhLast = grads[1].defined() ? grads[1].to(A.scalar_type()).contiguous() : Tensor();
        Tensor du = torch::empty({a.B, a.L, a.D}, ioOpts);
        Tensor ddelta = torch::empty({a.B, a.L, a.D}, ioOpts);
        Tensor dz = z.defined() ? torch::empty({a.B, a.L, a.D}, ioOpts) : Tensor();
        Tensor dB = torch::zeros({a.B, a.L, a.N}, opts);
        Tensor dC = torch::zeros({a.B, a.L, a.N}, opts);
        Tensor dA = torch::zeros({a.D, a.N}, opts);
        Tensor dD = Dskip.defined() ? torch::zeros({a.D}, opts) : Tensor();
        Tensor dBias = bias.defined() ? torch::zeros({a.D}, opts) : Tensor();
        Tensor dh0 = h0.defined() ? torch::empty({a.B, a.D, a.N}, opts) : Tensor();
        a.chunkStates = mptr(states);
        a.dy = ptr(dy);
        a.dySB = dy.stride(0);
        a.dySL = dy.stride(1);
        a.dhLast = ptr(dhLast);
        a.du = mptr(du);
        a.ddelta = mptr(ddelta);
        a.dz = mptr(dz);
        a.dB = mptr(dB);
        a.dC = mptr(dC);
        a.dA = mptr(dA);
        a.dD = mptr(dD);
        a.dBias = mptr(dBias);
        a.dh0 = mptr(dh0);
        check(scanBackward(a, currentStream(u)), "selective scan (CUDA) backward");
        return {du, ddelta, dA, dB, dC, dD, dz, dBias, dh0, Tensor()};
    }
};

Tensor prep(const Tensor& t, at::ScalarType dtype) {
    if (!t.defined()) return t;
    return lastDimContiguous(t.scalar_type() == dtype ? t : t.to(dtype));
}

// ---- causal conv ----

Tensor tapsMajor(const Tensor& w) { return w.reshape({w.size(0), -1}).t().contiguous(); }  // (K, D)

ConvLaunchArgs convArgs(const Tensor& x, const Tensor& wT, const Tensor& bias, const Tensor& left, bool silu) {
    ConvLaunchArgs a;
    a.B = x.size(0);
    a.L = x.size(1);
    a.D = x.size(2);
    a.K = wT.size(0);
    a.silu = silu;
    a.io = ioTypeOf(x.scalar_type());
    a.x = ptr(x);
    a.xSB = x.stride(0);
    a.xSL = x.stride(1);
    a.left = ptr(left);
    a.w = ptr(wT);
    a.bias = ptr(bias);
    return a;
}

Tensor convForwardCuda(const Tensor& x, const Tensor& wT, const Tensor& bias, const Tensor& left, bool silu) {
    ConvLaunchArgs a = convArgs(x, wT, bias, left, silu);
    Tensor y = torch::empty(x.sizes(), x.options());
    a.y = mptr(y);
    check(convForward(a, currentStream(x)), "causal conv (CUDA) forward");
    return y;
}

class CudaConvFunction : public torch::autograd::Function<CudaConvFunction> {
public:
    static variable_list forward(AutogradContext* ctx, Tensor x, Tensor weight, Tensor bias, Tensor left, bool silu) {
        const c10::cuda::CUDAGuard guard(x.device());
        Tensor wT = tapsMajor(weight);
        ctx->save_for_backward({x, wT, bias, left});
        ctx->saved_data["silu"] = silu;
        ctx->saved_data["wshape"] = weight.sizes().vec();
        return {convForwardCuda(x, wT, present(bias), present(left), silu)};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const Tensor &x = saved[0], &wT = saved[1];
        const Tensor bias = present(saved[2]), left = present(saved[3]);
        const c10::cuda::CUDAGuard guard(x.device());
        ConvLaunchArgs a = convArgs(x, wT, bias, left, ctx->saved_data["silu"].toBool());
        Tensor dy = lastDimContiguous(grads[0].to(x.scalar_type()));
        Tensor dx = torch::empty(x.sizes(), x.options());
        Tensor dw = torch::zeros(wT.sizes(), wT.options());
        Tensor db = bias.defined() ? torch::zeros({a.D}, wT.options()) : Tensor();
        a.dy = ptr(dy);
        a.dySB = dy.stride(0);
        a.dySL = dy.stride(1);
        a.dx = mptr(dx);
        a.dw = mptr(dw);
        a.dBias = mptr(db);
        check(convBackward(a, currentStream(x)), "causal conv (CUDA) backward");
        return {dx, dw.t().reshape(ctx->saved_data["wshape"].toIntVector()), db, Tensor(), Tensor()};
    }
};

}  // namespace

bool kernelsCompiled() { return true; }
int64_t maxState() { return kMaxState; }

ScanOutputs selectiveScan(const ScanInputs& in, bool returnLastState) {
    TORCH_CHECK(in.u.defined() && in.delta.defined() && in.A.defined() && in.Bm.defined() && in.Cm.defined(),
                "selective scan (CUDA): u, delta, A, Bm and Cm are required");
    TORCH_CHECK(in.u.is_cuda(), "selective scan (CUDA): tensors must be on a CUDA device, got ", in.u.device());
    const at::ScalarType dtype = in.u.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    // bf16 / fp16 activations (u, delta and z all of that type, as autocast leaves them) are read
    // and written as they are; the small tensors and the state are in the compute type.
    const at::ScalarType ut = in.u.scalar_type();
    const auto same = [&](const Tensor& t) { return !t.defined() || t.scalar_type() == ut; };
    const at::ScalarType io = (ut == torch::kBFloat16 || ut == torch::kHalf) && same(in.delta) && same(in.z) ? ut : dtype;
    Tensor u = prep(in.u, io), delta = prep(in.delta, io), z = prep(in.z, io);
    Tensor A = prep(in.A, dtype).contiguous(), Bm = prep(in.Bm, dtype), Cm = prep(in.Cm, dtype);
    Tensor Dskip = prep(in.Dskip, dtype), bias = prep(in.deltaBias, dtype), h0 = prep(in.initialState, dtype);
    if (Dskip.defined()) Dskip = Dskip.contiguous();
    if (bias.defined()) bias = bias.contiguous();
    if (h0.defined()) h0 = h0.contiguous();
    checkScan(u, delta, A, Bm, Cm, Dskip, z, bias, h0);

    bool needGrad = false;
    if (torch::GradMode::is_enabled())
        for (const Tensor* t : {&u, &delta, &A, &Bm, &Cm, &Dskip, &z, &bias, &h0})
            needGrad = needGrad || (t->defined() && t->requires_grad());
    ScanOutputs out;
    if (needGrad) {
        auto r = CudaScanFunction::apply(u, delta, A, Bm, Cm, orEmpty(Dskip, A), orEmpty(z, u), orEmpty(bias, A),
                                         orEmpty(h0, A), in.deltaSoftplus);
        out.y = r[0];
        if (returnLastState) out.lastState = r[1];
        return out;
    }
    const c10::cuda::CUDAGuard guard(u.device());
    Tensor y, hLast, states;
    runForward(scanArgs(u, delta, A, Bm, Cm, Dskip, z, bias, h0, in.deltaSoftplus), u, A, y, hLast, states, false);
    out.y = y;
    if (returnLastState) out.lastState = hLast;
    return out;
}

Tensor causalConv1dSilu(const Tensor& xIn, const Tensor& weightIn, const Tensor& biasIn, bool silu,
                        const Tensor& leftIn) {
    TORCH_CHECK(xIn.defined() && xIn.dim() == 3, "causal conv (CUDA): x must be (B, L, D)");
    const int64_t B = xIn.size(0), L = xIn.size(1), D = xIn.size(2);
    TORCH_CHECK(weightIn.defined() && weightIn.size(0) == D && weightIn.numel() % D == 0,
                "causal conv (CUDA): weight must be (D, K) or (D, 1, K) with D = ", D, ", got ", weightIn.sizes());
    const int64_t K = weightIn.numel() / D;
    TORCH_CHECK(K >= 1 && K <= kConvMaxWidth, "causal conv (CUDA): kernel width must be in [1, ",
                kConvMaxWidth, "], got ", K);
    TORCH_CHECK(B <= 65535 && (L + 31) / 32 <= 65535, "causal conv (CUDA): batch or length too large");
    if (biasIn.defined()) TORCH_CHECK(biasIn.numel() == D, "causal conv (CUDA): bias must be (D), got ", biasIn.sizes());
    if (leftIn.defined())
        TORCH_CHECK(leftIn.dim() == 3 && leftIn.size(0) == B && leftIn.size(1) == K - 1 && leftIn.size(2) == D,
                    "causal conv (CUDA): left must be (B, K-1, D), got ", leftIn.sizes());
    for (const Tensor* t : {&xIn, &weightIn, &biasIn, &leftIn})
        if (t->defined())
            TORCH_CHECK(t->is_cuda() && t->device() == xIn.device(),
                        "causal conv (CUDA): every tensor must be on x's CUDA device (", xIn.device(), ")");
    const auto xt = xIn.scalar_type();
    const auto dtype = xt == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto io = xt == torch::kBFloat16 || xt == torch::kHalf ? xt : dtype;
    Tensor x = lastDimContiguous(xIn.to(io));
    Tensor w = weightIn.to(dtype);
    Tensor bias = biasIn.defined() ? biasIn.to(dtype).reshape({D}).contiguous() : Tensor();
    Tensor left = leftIn.defined() ? leftIn.to(io).contiguous().detach() : Tensor();
    const bool needGrad = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
    if (needGrad)
        return CudaConvFunction::apply(x, w, orEmpty(bias, w), orEmpty(left, x), silu)[0];
    const c10::cuda::CUDAGuard guard(x.device());
    return convForwardCuda(x, tapsMajor(w), bias, left, silu);
}

}  // namespace mts::scan_cuda

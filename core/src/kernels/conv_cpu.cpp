// LibTorch side of the fused causal depthwise conv1d + SiLU (kernels in conv_cpu_kernel.h).
#include "mts/core/kernels/causal_conv.h"

#include <type_traits>

#include <ATen/Parallel.h>

#include "kernels/cuda/kernels_cuda.h"
#include "kernels/kernel_tensors.h"

namespace mts {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using kernel::dataOf;
using kernel::lastDimContiguous;
using kernel::ptrOrNull;

template <typename T, typename IO>
scan_cpu::ConvKernelSet<T, IO> convKernels() {
    if constexpr (std::is_same_v<T, double>) {
        return scan_cpu::convKernelsF64();
    } else if constexpr (std::is_same_v<IO, scan_cpu::Bf16>) {
        return scan_cpu::convKernelsBf16();
    } else {
        return scan_cpu::convKernelsF32();
    }
}

// weight (D, K) -> taps-major (K, D) so a tap of W channels is one load.
Tensor tapsMajor(const Tensor& w) { return w.reshape({w.size(0), -1}).t().contiguous(); }

template <typename T, typename IO>
void setArgs(scan_cpu::ConvArgs<T, IO>& a, const Tensor& x, const Tensor& wT, const Tensor& bias, const Tensor& left,
             bool silu) {
    a.B = x.size(0);
    a.L = x.size(1);
    a.D = x.size(2);
    a.K = wT.size(0);
    a.silu = silu;
    a.x = dataOf<IO>(x);
    a.xSB = x.stride(0);
    a.xSL = x.stride(1);
    a.left = ptrOrNull<IO>(left);
    a.w = wT.data_ptr<T>();
    a.bias = ptrOrNull<T>(bias);
}

Tensor convForward(const Tensor& x, const Tensor& wT, const Tensor& bias, const Tensor& left, bool silu) {
    Tensor y = torch::empty(x.sizes(), x.options());
    kernel::dispatchStorage(x.scalar_type(), "causal conv (fused CPU)", [&](auto tTag, auto ioTag) {
        using T = decltype(tTag);
        using IO = decltype(ioTag);
        scan_cpu::ConvArgs<T, IO> a;
        setArgs(a, x, wT, bias, left, silu);
        a.y = dataOf<IO>(y);
        const auto k = convKernels<T, IO>();
        at::parallel_for(0, k.tasks(a), 1, [&](int64_t b, int64_t e) { k.forward(a, b, e); });
    });
    return y;
}

class CausalConvFunction : public torch::autograd::Function<CausalConvFunction> {
public:
    // Absent bias / left travel as empty tensors (1.13's Function cannot take undefined ones).
    static variable_list forward(AutogradContext* ctx, Tensor x, Tensor weight, Tensor bias, Tensor left, bool silu) {
        if (bias.numel() == 0) bias = Tensor();
        if (left.numel() == 0) left = Tensor();
        Tensor wT = tapsMajor(weight);
        ctx->save_for_backward({x, wT, bias, left});
        ctx->saved_data["silu"] = silu;
        ctx->saved_data["wshape"] = weight.sizes().vec();
        return {convForward(x, wT, bias, left, silu)};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const Tensor &x = saved[0], &wT = saved[1];
        const Tensor bias = saved[2].numel() > 0 ? saved[2] : Tensor(), left = saved[3].numel() > 0 ? saved[3] : Tensor();
        const bool silu = ctx->saved_data["silu"].toBool();
        const auto wshape = ctx->saved_data["wshape"].toIntVector();
        const int64_t D = x.size(2), K = wT.size(0);
        Tensor dy = lastDimContiguous(grads[0].to(x.scalar_type()));
        Tensor dx = torch::empty(x.sizes(), x.options());
        Tensor dwPart, dbPart;  // per task, summed below
        kernel::dispatchStorage(x.scalar_type(), "causal conv (fused CPU)", [&](auto tTag, auto ioTag) {
            using T = decltype(tTag);
            using IO = decltype(ioTag);
            scan_cpu::ConvArgs<T, IO> a;
            setArgs(a, x, wT, bias, left, silu);
            a.dy = dataOf<IO>(dy);
            a.dySB = dy.stride(0);
            a.dySL = dy.stride(1);
            a.dx = dataOf<IO>(dx);
            const auto k = convKernels<T, IO>();
            const int64_t tasks = k.tasks(a);
            dwPart = torch::empty({tasks, K, D}, wT.options());
            if (bias.defined()) dbPart = torch::empty({tasks, D}, wT.options());
            a.dwPart = dwPart.data_ptr<T>();
            a.dbPart = ptrOrNull<T>(dbPart);
            at::parallel_for(0, tasks, 1, [&](int64_t b, int64_t e) { k.backward(a, b, e); });
        });
        Tensor dw = dwPart.sum(0).t().reshape(wshape);
        return {dx, dw, bias.defined() ? dbPart.sum(0) : Tensor(), Tensor(), Tensor()};
    }
};

}  // namespace

Tensor causalConv1dSilu(const Tensor& xIn, const Tensor& weightIn, const Tensor& biasIn, bool silu,
                        const Tensor& leftIn) {
    TORCH_CHECK(xIn.defined() && xIn.dim() == 3, "causal conv: x must be (B, L, D)");
    const int64_t B = xIn.size(0), D = xIn.size(2);
    TORCH_CHECK(weightIn.defined() && weightIn.size(0) == D && weightIn.numel() % D == 0,
                "causal conv: weight must be (D, K) or (D, 1, K) with D = ", D, ", got ", weightIn.sizes());
    const int64_t K = weightIn.numel() / D;
    TORCH_CHECK(K >= 1 && K <= 16, "causal conv: kernel width must be in [1, 16], got ", K);
    if (biasIn.defined()) TORCH_CHECK(biasIn.numel() == D, "causal conv: bias must be (D), got ", biasIn.sizes());
    if (leftIn.defined())
        TORCH_CHECK(leftIn.dim() == 3 && leftIn.size(0) == B && leftIn.size(1) == K - 1 && leftIn.size(2) == D,
                    "causal conv: left must be (B, K-1, D) = (", B, ", ", K - 1, ", ", D, "), got ", leftIn.sizes());
    if (xIn.is_cuda()) return scan_cuda::causalConv1dSilu(xIn, weightIn, biasIn, silu, leftIn);  // kernels/cuda/
    TORCH_CHECK(xIn.device().is_cpu() && weightIn.device().is_cpu(), "causal conv (fused CPU): tensors must be on the CPU");
    // Computed in fp32 (fp64 for the gradient tests); bf16 activations are read and written as
    // bf16 (no conversion pass), the weights stay in their fp32 (fp64) master copy.
    const auto dtype = xIn.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto io = xIn.scalar_type() == torch::kBFloat16 ? torch::kBFloat16 : dtype;
    Tensor x = lastDimContiguous(xIn.to(io));
    Tensor w = weightIn.to(dtype);
    Tensor bias = biasIn.defined() ? biasIn.to(dtype).reshape({D}).contiguous() : Tensor();
    Tensor left = leftIn.defined() ? leftIn.to(io).contiguous().detach() : Tensor();
    const bool needGrad = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
    if (needGrad) {
        auto empty = torch::empty({0}, x.options());
        return CausalConvFunction::apply(x, w, bias.defined() ? bias : empty, left.defined() ? left : empty, silu)[0];
    }
    return convForward(x, tapsMajor(w), bias, left, silu);
}

bool causalConvFused(const torch::Device& device, int64_t width) {
    if (device.is_cpu()) return width >= 1 && width <= 16;
    return device.is_cuda() && scan_cuda::kernelsCompiled() && width >= 1 && width <= scan_cuda::kConvMaxWidth;
}

}  // namespace mts

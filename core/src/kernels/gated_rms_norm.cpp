// Gated RMSNorm (gated_rms_norm.h): the tensor-op formula and the fused CPU autograd function
// over the kernels in gated_norm_kernel.h (compiled per ISA in ssd_cpu_isa.cpp).
#include "mts/core/kernels/gated_rms_norm.h"

#include <stdexcept>
#include <string>

#include <ATen/Parallel.h>

#include "kernels/kernel_tensors.h"
#include "kernels/ssd_cpu_args.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using kernel::dataOf;

torch::ScalarType computeType(const Tensor& weight) {
    return weight.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

void checkShapes(const Tensor& y, const Tensor& z, const Tensor& weight, int64_t groups) {
    if (!y.defined() || !z.defined() || !weight.defined() || y.dim() < 1 || y.sizes() != z.sizes() ||
        weight.dim() != 1 || weight.size(0) != y.size(-1))
        throw std::invalid_argument("gated RMSNorm: y and z must have one shape (..., dim) and weight (dim)");
    if (groups < 1 || y.size(-1) % groups != 0)
        throw std::invalid_argument("gated RMSNorm: groups = " + std::to_string(groups) +
                                    " must divide dim = " + std::to_string(y.size(-1)));
}

template <typename T, typename IO>
ssd_cpu::GatedNormKernelSet<T, IO> kernelsFor() {
    if constexpr (std::is_same_v<T, double>)
        return ssd_cpu::gatedNormKernelsF64();
    else if constexpr (std::is_same_v<IO, scan_cpu::Bf16>)
        return ssd_cpu::gatedNormKernelsBf16();
    else
        return ssd_cpu::gatedNormKernelsF32();
}

// (rows, dim) with a row stride and a contiguous last dim: a view where possible.
Tensor asRows(const Tensor& t) {
    Tensor r = t.reshape({-1, t.size(-1)});
    return kernel::lastDimContiguous(r);
}

template <typename T, typename IO>
ssd_cpu::GatedNormArgs<T, IO> argsFor(const Tensor& y2, const Tensor& z2, const Tensor& w, int64_t groups,
                                      double eps) {
    ssd_cpu::GatedNormArgs<T, IO> a;
    a.rows = y2.size(0);
    a.dim = y2.size(1);
    a.groups = groups;
    a.eps = T(eps);
    a.y = dataOf<IO>(y2);
    a.ySR = y2.stride(0);
    a.z = dataOf<IO>(z2);
    a.zSR = z2.stride(0);
    a.w = w.data_ptr<T>();
    return a;
}

class GatedNormFunction : public torch::autograd::Function<GatedNormFunction> {
public:
    static variable_list forward(AutogradContext* ctx, Tensor y, Tensor z, Tensor w, int64_t groups, double eps) {
        const Tensor y2 = asRows(y), z2 = asRows(z);
        Tensor out, rstd;
        kernel::dispatchStorage(y.scalar_type(), "gated RMSNorm", [&](auto tTag, auto ioTag) {
            using T = decltype(tTag);
            using IO = decltype(ioTag);
            auto a = argsFor<T, IO>(y2, z2, w, groups, eps);
            out = torch::empty({a.rows, a.dim}, y.options());
            rstd = torch::empty({a.rows, groups}, w.options());
            a.out = dataOf<IO>(out);
            a.rstd = rstd.data_ptr<T>();
            const auto k = kernelsFor<T, IO>();
            at::parallel_for(0, a.rows, 64, [&](int64_t b, int64_t e) { k.forward(a, b, e); });
        });
        ctx->save_for_backward({y, z, w, rstd});
        ctx->saved_data["groups"] = groups;
        ctx->saved_data["eps"] = eps;
        return {out.view(y.sizes())};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const Tensor &y = saved[0], &z = saved[1], &w = saved[2], &rstd = saved[3];
        const int64_t groups = ctx->saved_data["groups"].toInt();
        const double eps = ctx->saved_data["eps"].toDouble();
        const Tensor y2 = asRows(y), z2 = asRows(z);
        const Tensor dout = grads[0].to(y.scalar_type()).reshape({-1, y.size(-1)}).contiguous();
        Tensor dy, dz, dw;
        kernel::dispatchStorage(y.scalar_type(), "gated RMSNorm", [&](auto tTag, auto ioTag) {
            using T = decltype(tTag);
            using IO = decltype(ioTag);
            auto a = argsFor<T, IO>(y2, z2, w, groups, eps);
            a.tasks = std::max<int64_t>(1, std::min<int64_t>(a.rows, 4 * int64_t(at::get_num_threads())));
            dy = torch::empty({a.rows, a.dim}, y.options());
            dz = torch::empty({a.rows, a.dim}, y.options());
            Tensor dwPart = torch::empty({a.tasks, a.dim}, w.options());
            a.rstd = rstd.data_ptr<T>();
            a.dout = dataOf<IO>(dout);
            a.dy = dataOf<IO>(dy);
            a.dz = dataOf<IO>(dz);
            a.dwPart = dwPart.data_ptr<T>();
            const auto k = kernelsFor<T, IO>();
            at::parallel_for(0, a.tasks, 1, [&](int64_t b, int64_t e) { k.backward(a, b, e); });
            dw = dwPart.sum(0);
        });
        return {dy.view(y.sizes()), dz.view(z.sizes()), dw, Tensor(), Tensor()};
    }
};

}  // namespace

Tensor gatedRmsNormReference(const Tensor& y, const Tensor& z, const Tensor& weight, int64_t groups, double eps) {
    checkShapes(y, z, weight, groups);
    const auto ct = computeType(weight);
    const Tensor g = y.to(ct) * torch::silu(z.to(ct));  // (..., dim)
    std::vector<int64_t> grouped(g.sizes().begin(), g.sizes().end() - 1);
    grouped.push_back(groups);
    grouped.push_back(g.size(-1) / groups);
    const Tensor gg = g.reshape(grouped);  // (..., G, dim / G)
    const Tensor normed = gg * torch::rsqrt(gg.pow(2).mean(-1, true) + eps);
    return normed.reshape(g.sizes()) * weight;
}

Tensor gatedRmsNorm(const Tensor& y, const Tensor& z, const Tensor& weight, int64_t groups, double eps) {
    checkShapes(y, z, weight, groups);
    if (!y.device().is_cpu() || !z.device().is_cpu() || !weight.device().is_cpu())
        return gatedRmsNormReference(y, z, weight, groups, eps);
    compat::AutocastOff noAutocast;
    const auto ct = computeType(weight);
    const bool bf16 = y.scalar_type() == torch::kBFloat16 && z.scalar_type() == torch::kBFloat16;
    const auto io = bf16 ? torch::kBFloat16 : ct;
    const Tensor yy = y.scalar_type() == io ? y : y.to(io);
    const Tensor zz = z.scalar_type() == io ? z : z.to(io);
    const Tensor w = (weight.scalar_type() == ct ? weight : weight.to(ct)).contiguous();
    return GatedNormFunction::apply(yy, zz, w, groups, eps)[0];
}

}  // namespace mts

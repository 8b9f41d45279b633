#include "mts/core/rms_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace mts {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kRowsPerTask = 16;

// sum a[i] * b[i] in eight independent float partial sums (ILP, and vectorisable without
// -ffast-math, which a single running sum is not).
float dot(const float* a, const float* b, int64_t n) {
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) p[k] += a[i + k] * b[i + k];
    float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& wIn,
                                 double eps) {
        const torch::Tensor x = xIn.contiguous();
        const torch::Tensor w = wIn.contiguous();
        const int64_t dim = x.size(-1), rows = x.numel() / dim;
        torch::Tensor y = torch::empty_like(x);
        torch::Tensor rstd = torch::empty({rows}, x.options());
        const float* xp = x.data_ptr<float>();
        const float* wp = w.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        float* rp = rstd.data_ptr<float>();
        at::parallel_for(0, rows, kRowsPerTask, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* xr = xp + r * dim;
                float* yr = yp + r * dim;
                const float inv = float(1.0 / std::sqrt(double(dot(xr, xr, dim)) / double(dim) + eps));
                rp[r] = inv;
                for (int64_t i = 0; i < dim; ++i) yr[i] = wp[i] * (xr[i] * inv);
            }
        });
        ctx->save_for_backward({x, w, rstd});
        return {y};
    }

    // With g = dy * w and r = 1/rms: dx = r g - x r^3 mean(g x); dw = sum over rows of dy x r.
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &rstd = saved[2];
        const torch::Tensor dy = grads[0].to(torch::kFloat32).contiguous();
        const int64_t dim = x.size(-1), rows = x.numel() / dim;
        torch::Tensor dx = torch::empty_like(x);
        const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
        // Per-task partial sums of dw (summed below): no shared accumulator between threads.
        torch::Tensor dwPart = torch::empty({tasks, dim}, x.options());
        const float* xp = x.data_ptr<float>();
        const float* wp = w.data_ptr<float>();
        const float* rp = rstd.data_ptr<float>();
        const float* dyp = dy.data_ptr<float>();
        float* dxp = dx.data_ptr<float>();
        float* dwp = dwPart.data_ptr<float>();
        at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
            for (int64_t task = t0; task < t1; ++task) {
                float* dwr = dwp + task * dim;
                for (int64_t i = 0; i < dim; ++i) dwr[i] = 0;
                const int64_t rEnd = std::min(rows, (task + 1) * kRowsPerTask);
                for (int64_t r = task * kRowsPerTask; r < rEnd; ++r) {
                    const float* xr = xp + r * dim;
                    const float* dyr = dyp + r * dim;
                    float* dxr = dxp + r * dim;
                    const float inv = rp[r];
                    float* g = dxr;  // dy * w, overwritten by dx below
                    for (int64_t i = 0; i < dim; ++i) g[i] = dyr[i] * wp[i];
                    const float c = dot(g, xr, dim) / float(dim) * inv * inv * inv;
                    for (int64_t i = 0; i < dim; ++i) {
                        dxr[i] = inv * g[i] - c * xr[i];
                        dwr[i] += dyr[i] * (xr[i] * inv);
                    }
                }
            }
        });
        return {dx, dwPart.sum(0), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor rmsNormReference(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    const torch::Tensor xf = x.to(torch::kFloat32);
    const torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * normed.to(x.scalar_type());
}

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    TORCH_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1),
                "rmsNorm: weight must be (", x.size(-1), "), got ", weight.sizes());
    const bool fused = x.device().is_cpu() && weight.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                       weight.scalar_type() == torch::kFloat32 && x.numel() > 0;
    if (!fused) return rmsNormReference(x, weight, eps);
    return RmsNormFunction::apply(x, weight, eps)[0];
}

}  // namespace mts

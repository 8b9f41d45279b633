#include "mts/core/kernels/rms_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

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

// Rows of y written as float or bf16 (round to nearest even, c10's conversion).
template <typename Out>
void forwardRows(const float* xp, const float* wp, Out* yp, float* rp, int64_t rows, int64_t dim, double eps) {
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* xr = xp + r * dim;
            Out* yr = yp + r * dim;
            const float inv = float(1.0 / std::sqrt(double(dot(xr, xr, dim)) / double(dim) + eps));
            rp[r] = inv;
            for (int64_t i = 0; i < dim; ++i) yr[i] = Out(wp[i] * (xr[i] * inv));
        }
    });
}

// dy read as float, or as bf16 (widened into a row buffer first).
template <typename G>
void backwardRows(const float* xp, const float* wp, const float* rp, const G* dyp, float* dxp, float* dwp,
                  int64_t rows, int64_t dim) {
    const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
        std::vector<float> dyf(std::is_same_v<G, float> ? 0 : static_cast<size_t>(dim));
        for (int64_t task = t0; task < t1; ++task) {
            float* dwr = dwp + task * dim;
            for (int64_t i = 0; i < dim; ++i) dwr[i] = 0;
            const int64_t rEnd = std::min(rows, (task + 1) * kRowsPerTask);
            for (int64_t r = task * kRowsPerTask; r < rEnd; ++r) {
                const float* xr = xp + r * dim;
                const G* dyr = dyp + r * dim;
                float* dxr = dxp + r * dim;
                const float* dy;
                if constexpr (std::is_same_v<G, float>) {
                    dy = dyr;
                } else {
                    for (int64_t i = 0; i < dim; ++i) dyf[static_cast<size_t>(i)] = float(dyr[i]);
                    dy = dyf.data();
                }
                const float inv = rp[r];
                float* g = dxr;  // dy * w, overwritten by dx below
                for (int64_t i = 0; i < dim; ++i) g[i] = dy[i] * wp[i];
                const float c = dot(g, xr, dim) / float(dim) * inv * inv * inv;
                for (int64_t i = 0; i < dim; ++i) {
                    dxr[i] = inv * g[i] - c * xr[i];
                    dwr[i] += dy[i] * (xr[i] * inv);
                }
            }
        }
    });
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
public:
    // y in float32, or in bfloat16 when bf16Out (under CPU autocast: what the next linear would
    // cast it to, written once here instead of in a separate conversion pass).
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& wIn,
                                 double eps, bool bf16Out) {
        const torch::Tensor x = xIn.contiguous();
        const torch::Tensor w = wIn.contiguous();
        const int64_t dim = x.size(-1), rows = x.numel() / dim;
        torch::Tensor y = torch::empty(x.sizes(), x.options().dtype(bf16Out ? torch::kBFloat16 : torch::kFloat32));
        torch::Tensor rstd = torch::empty({rows}, x.options());
        if (bf16Out) {
            forwardRows(x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<at::BFloat16>(), rstd.data_ptr<float>(),
                        rows, dim, eps);
        } else {
            forwardRows(x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), rstd.data_ptr<float>(), rows,
                        dim, eps);
        }
        ctx->save_for_backward({x, w, rstd});
        return {y};
    }

    // With g = dy * w and r = 1/rms: dx = r g - x r^3 mean(g x); dw = sum over rows of dy x r.
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &rstd = saved[2];
        torch::Tensor dy = grads[0].contiguous();
        if (dy.scalar_type() != torch::kBFloat16) dy = dy.to(torch::kFloat32);
        const int64_t dim = x.size(-1), rows = x.numel() / dim;
        torch::Tensor dx = torch::empty_like(x);
        const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
        // Per-task partial sums of dw (summed below): no shared accumulator between threads.
        torch::Tensor dwPart = torch::empty({tasks, dim}, x.options());
        if (dy.scalar_type() == torch::kBFloat16) {
            backwardRows(x.data_ptr<float>(), w.data_ptr<float>(), rstd.data_ptr<float>(), dy.data_ptr<at::BFloat16>(),
                         dx.data_ptr<float>(), dwPart.data_ptr<float>(), rows, dim);
        } else {
            backwardRows(x.data_ptr<float>(), w.data_ptr<float>(), rstd.data_ptr<float>(), dy.data_ptr<float>(),
                         dx.data_ptr<float>(), dwPart.data_ptr<float>(), rows, dim);
        }
        return {dx, dwPart.sum(0), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor rmsNormReference(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    const torch::Tensor xf = x.to(torch::kFloat32);
    const torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * normed.to(x.scalar_type());
}

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool bf16Out) {
    TORCH_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1),
                "rmsNorm: weight must be (", x.size(-1), "), got ", weight.sizes());
    const bool fused = x.device().is_cpu() && weight.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                       weight.scalar_type() == torch::kFloat32 && x.numel() > 0;
    if (!fused) {
        const torch::Tensor y = rmsNormReference(x, weight, eps);
        return bf16Out ? y.to(torch::kBFloat16) : y;
    }
    return RmsNormFunction::apply(x, weight, eps, bf16Out)[0];
}

}  // namespace mts

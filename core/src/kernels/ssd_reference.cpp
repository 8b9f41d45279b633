// The SSD test oracle: the recurrence of ssd.h one token at a time, in float64.
#include "mts/core/kernels/ssd.h"

#include "mts/core/runtime/torch_compat.h"

namespace mts {

SsdOutputs ssdReference(const SsdInputs& in) {
    checkSsdInputs(in);
    compat::AutocastOff noAutocast;
    const auto f64 = torch::kFloat64;
    const int64_t b = in.x.size(0), l = in.x.size(1), h = in.x.size(2), p = in.x.size(3);
    const int64_t g = in.Bm.size(2), n = in.Bm.size(3);
    const torch::Tensor x = in.x.to(f64), dt = in.dt.to(f64), a = in.A.to(f64);
    const torch::Tensor bh = in.Bm.to(f64).repeat_interleave(h / g, 2);  // (B, L, H, N): head h reads group h / (H / G)
    const torch::Tensor ch = in.Cm.to(f64).repeat_interleave(h / g, 2);  // (B, L, H, N)
    torch::Tensor s = in.initialState.defined() ? in.initialState.to(f64) : torch::zeros({b, h, p, n}, x.options());
    std::vector<torch::Tensor> ys;
    ys.reserve(static_cast<size_t>(l));
    for (int64_t t = 0; t < l; ++t) {
        const torch::Tensor dtT = dt.select(1, t);                                   // (B, H)
        const torch::Tensor xT = x.select(1, t);                                     // (B, H, P)
        s = s * (dtT * a).exp().view({b, h, 1, 1}) +
            (xT * dtT.unsqueeze(-1)).unsqueeze(-1) * bh.select(1, t).unsqueeze(2);  // (B, H, P, N)
        torch::Tensor yT = (s * ch.select(1, t).unsqueeze(2)).sum(-1);              // (B, H, P)
        if (in.D.defined()) yT = yT + xT * in.D.to(f64).view({1, h, 1});
        ys.push_back(yT);
    }
    SsdOutputs out;
    out.y = l > 0 ? torch::stack(ys, 1) : torch::zeros({b, 0, h, p}, x.options());
    out.finalState = s;
    return out;
}

}  // namespace mts

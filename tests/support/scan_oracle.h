#pragma once
// The selective-scan oracle and random problems shared by the scan test suites
// (test_scan_devices.cpp, test_scan_cuda_emulation.cpp): the recurrence of selective_scan.h
// written out with tensor ops, autograd through the loop; run it in float64 for the
// double-precision reference.
#include <algorithm>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/kernels/selective_scan.h"
#include "tensor_checks.h"

namespace mts::test {

/// y (B, L, D) and the last state (B, D, N) from the equations; differentiable w.r.t. every input.
inline mts::ScanOutputs scanOracle(const mts::ScanInputs& in) {
    using torch::Tensor;
    const auto B = in.u.size(0), L = in.u.size(1), D = in.u.size(2), N = in.A.size(1);
    Tensor dt = in.deltaBias.defined() ? in.delta + in.deltaBias : in.delta;
    if (in.deltaSoftplus) dt = torch::nn::functional::softplus(dt);
    Tensor h = in.initialState.defined() ? in.initialState : torch::zeros({B, D, N}, in.u.options());
    std::vector<Tensor> ys;
    for (int64_t t = 0; t < L; ++t) {
        Tensor dtt = dt.select(1, t);  // (B, D)
        Tensor ut = in.u.select(1, t);
        Tensor dA = torch::exp(dtt.unsqueeze(-1) * in.A);                          // (B, D, N)
        Tensor dBu = (dtt * ut).unsqueeze(-1) * in.Bm.select(1, t).unsqueeze(1);   // (B, D, N)
        h = dA * h + dBu;
        Tensor y = (h * in.Cm.select(1, t).unsqueeze(1)).sum(-1);                  // (B, D)
        if (in.Dskip.defined()) y = y + in.Dskip * ut;
        ys.push_back(y);
    }
    Tensor y = torch::stack(ys, 1);
    if (in.z.defined()) y = y * torch::silu(in.z);
    return {y, h};
}

struct ScanCase {
    int64_t B, L, D, N;
    bool z, Dskip, bias, softplus, h0;
    std::string name() const {
        return "B" + std::to_string(B) + " L" + std::to_string(L) + " D" + std::to_string(D) + " N" +
               std::to_string(N) + (z ? " z" : "") + (Dskip ? " D" : "") + (bias ? " bias" : "") +
               (softplus ? " softplus" : "") + (h0 ? " h0" : "");
    }
};

/// Random inputs of a case as float64 CPU leaves (requires_grad): u, delta, A, Bm, Cm, then
/// the optional Dskip, z, deltaBias, initialState in that order (as `names`).
struct ScanProblem {
    mts::ScanInputs in;
    std::vector<torch::Tensor> leaves;
    std::vector<std::string> names;
};

inline ScanProblem makeScanProblem(const ScanCase& c, uint64_t seed) {
    torch::manual_seed(seed);
    const auto o = torch::TensorOptions().dtype(torch::kFloat64);
    ScanProblem m;
    auto leaf = [&](torch::Tensor t, const char* name) {
        t.set_requires_grad(true);
        m.leaves.push_back(t);
        m.names.emplace_back(name);
        return t;
    };
    m.in.u = leaf(torch::randn({c.B, c.L, c.D}, o), "u");
    // Raw delta around softplus^-1 of the usual dt range; without softplus keep it positive.
    m.in.delta = leaf(c.softplus ? torch::randn({c.B, c.L, c.D}, o) - 2.0 : torch::rand({c.B, c.L, c.D}, o) * 0.2 + 0.01,
                      "delta");
    m.in.A = leaf(-torch::exp(torch::randn({c.D, c.N}, o) * 0.5) * 2.0, "A");
    m.in.Bm = leaf(torch::randn({c.B, c.L, c.N}, o), "Bm");
    m.in.Cm = leaf(torch::randn({c.B, c.L, c.N}, o), "Cm");
    if (c.Dskip) m.in.Dskip = leaf(torch::randn({c.D}, o), "Dskip");
    if (c.z) m.in.z = leaf(torch::randn({c.B, c.L, c.D}, o), "z");
    if (c.bias) m.in.deltaBias = leaf(c.softplus ? torch::randn({c.D}, o) * 0.3 : torch::rand({c.D}, o) * 0.05, "deltaBias");
    m.in.deltaSoftplus = c.softplus;
    if (c.h0) m.in.initialState = leaf(torch::randn({c.B, c.D, c.N}, o) * 0.5, "initialState");
    return m;
}

}  // namespace mts::test

// The reference selective scan: one tensor op per token, autograd does the backward.
// Deliberately plain; every faster backend is tested against it.
#include <stdexcept>
#include <string>
#include <vector>

#include "mts/core/kernels/selective_scan.h"

namespace mts {
namespace {

void checkShape(const torch::Tensor& t, const char* name, at::IntArrayRef expected) {
    if (!t.defined()) throw std::invalid_argument(std::string("selectiveScan: ") + name + " is undefined");
    if (t.sizes() != expected) {
        throw std::invalid_argument(std::string("selectiveScan: ") + name + " has shape " +
                                    c10::str(t.sizes()) + ", expected " + c10::str(expected));
    }
    if (t.scalar_type() != torch::kFloat32)
        throw std::invalid_argument(std::string("selectiveScan: ") + name + " must be float32");
}

}  // namespace

ScanOutputs selectiveScanReference(const ScanInputs& in, bool returnLastState) {
    if (!in.u.defined() || in.u.dim() != 3) throw std::invalid_argument("selectiveScan: u must be (B, L, D_inner)");
    const int64_t batch = in.u.size(0), len = in.u.size(1), dInner = in.u.size(2);
    if (!in.A.defined() || in.A.dim() != 2) throw std::invalid_argument("selectiveScan: A must be (D_inner, N)");
    const int64_t nState = in.A.size(1);
    checkShape(in.u, "u", {batch, len, dInner});
    checkShape(in.delta, "delta", {batch, len, dInner});
    checkShape(in.A, "A", {dInner, nState});
    checkShape(in.Bm, "Bm", {batch, len, nState});
    checkShape(in.Cm, "Cm", {batch, len, nState});
    if (in.Dskip.defined()) checkShape(in.Dskip, "Dskip", {dInner});
    if (in.z.defined()) checkShape(in.z, "z", {batch, len, dInner});
    if (in.deltaBias.defined()) checkShape(in.deltaBias, "deltaBias", {dInner});
    if (in.initialState.defined()) checkShape(in.initialState, "initialState", {batch, dInner, nState});

    torch::Tensor delta = in.delta;
    if (in.deltaBias.defined()) delta = delta + in.deltaBias;
    if (in.deltaSoftplus) delta = torch::softplus(delta);

    // Discretisation (zero-order hold for A, Euler for B), all tokens at once:
    const torch::Tensor deltaA = torch::exp(delta.unsqueeze(-1) * in.A);                // (B, L, D, N)
    const torch::Tensor deltaBu = (delta * in.u).unsqueeze(-1) * in.Bm.unsqueeze(2);     // (B, L, D, N)

    torch::Tensor h = in.initialState.defined() ? in.initialState.detach()
                                                : torch::zeros({batch, dInner, nState}, in.u.options());
    std::vector<torch::Tensor> ys;
    ys.reserve(static_cast<size_t>(len));
    for (int64_t t = 0; t < len; ++t) {
        h = deltaA.select(1, t) * h + deltaBu.select(1, t);                              // (B, D, N)
        ys.push_back((h * in.Cm.select(1, t).unsqueeze(1)).sum(-1));                     // (B, D)
    }
    torch::Tensor y = len > 0 ? torch::stack(ys, 1) : torch::zeros({batch, 0, dInner}, in.u.options());
    if (in.Dskip.defined()) y = y + in.u * in.Dskip;
    if (in.z.defined()) y = y * torch::silu(in.z);

    ScanOutputs out;
    out.y = y;
    if (returnLastState) out.lastState = h;
    return out;
}

}  // namespace mts

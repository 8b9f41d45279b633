// The chunked parallel scan in tensor ops (ScanBackend::Chunked): what runs on a device for
// which no fused kernel of ours is built (CUDA today). Every op is a whole-tensor op, so it
// runs wherever LibTorch does, and autograd gives the backward.
//
// Within a chunk the recurrence h_t = a_t h_{t-1} + b_t is an inclusive scan over the pairs
// (a_t, b_t) with the associative combine (a1, b1) . (a2, b2) = (a1 a2, a2 b1 + b2); it takes
// ceil(log2 T) doubling steps (Hillis-Steele), each one multiply-add over the chunk. The
// state entering the chunk then enters as h_t = A_t h_in + B_t, where (A_t, B_t) is the
// scanned pair. Chunks run one after another, carrying h.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "mts/core/kernels/selective_scan.h"

namespace mts {
namespace {

void checkShape(const torch::Tensor& t, const char* name, at::IntArrayRef expected, at::ScalarType dtype) {
    if (!t.defined()) throw std::invalid_argument(std::string("selectiveScan (chunked): ") + name + " is undefined");
    if (t.sizes() != expected) {
        throw std::invalid_argument(std::string("selectiveScan (chunked): ") + name + " has shape " +
                                    c10::str(t.sizes()) + ", expected " + c10::str(expected));
    }
    if (t.scalar_type() != dtype)
        throw std::invalid_argument(std::string("selectiveScan (chunked): ") + name + " must be " +
                                    c10::toString(dtype) + " like u, got " + c10::toString(t.scalar_type()));
}

}  // namespace

ScanOutputs selectiveScanChunked(const ScanInputs& in, bool returnLastState, int64_t chunk) {
    if (chunk < 1) throw std::invalid_argument("selectiveScan (chunked): chunk must be >= 1");
    if (!in.u.defined() || in.u.dim() != 3)
        throw std::invalid_argument("selectiveScan (chunked): u must be (B, L, D_inner)");
    if (!in.A.defined() || in.A.dim() != 2)
        throw std::invalid_argument("selectiveScan (chunked): A must be (D_inner, N)");
    // float64 is accepted for gradient checks; bf16/fp16 inputs from autocast are promoted,
    // since the scan and its state stay in fp32.
    const at::ScalarType dtype = in.u.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    auto cast = [&](const torch::Tensor& t) { return t.defined() && t.scalar_type() != dtype ? t.to(dtype) : t; };
    const torch::Tensor u = cast(in.u), deltaIn = cast(in.delta), A = cast(in.A), Bm = cast(in.Bm),
                        Cm = cast(in.Cm), Dskip = cast(in.Dskip), z = cast(in.z), bias = cast(in.deltaBias),
                        h0 = cast(in.initialState);
    const int64_t batch = u.size(0), len = u.size(1), dInner = u.size(2), nState = A.size(1);
    checkShape(deltaIn, "delta", {batch, len, dInner}, dtype);
    checkShape(A, "A", {dInner, nState}, dtype);
    checkShape(Bm, "Bm", {batch, len, nState}, dtype);
    checkShape(Cm, "Cm", {batch, len, nState}, dtype);
    if (Dskip.defined()) checkShape(Dskip, "Dskip", {dInner}, dtype);
    if (z.defined()) checkShape(z, "z", {batch, len, dInner}, dtype);
    if (bias.defined()) checkShape(bias, "deltaBias", {dInner}, dtype);
    if (h0.defined()) checkShape(h0, "initialState", {batch, dInner, nState}, dtype);

    torch::Tensor delta = bias.defined() ? deltaIn + bias : deltaIn;
    if (in.deltaSoftplus) delta = torch::softplus(delta);
    const torch::Tensor du = delta * u;  // (B, L, D)

    torch::Tensor h = h0.defined() ? h0 : torch::zeros({batch, dInner, nState}, u.options());
    std::vector<torch::Tensor> ys;
    for (int64_t t0 = 0; t0 < len; t0 += chunk) {
        const int64_t n = std::min(chunk, len - t0);
        // (B, T, D, N) decays and inputs of this chunk.
        torch::Tensor a = torch::exp(delta.narrow(1, t0, n).unsqueeze(-1) * A);
        torch::Tensor b = du.narrow(1, t0, n).unsqueeze(-1) * Bm.narrow(1, t0, n).unsqueeze(2);
        for (int64_t off = 1; off < n; off *= 2) {
            const torch::Tensor aPrev = a.narrow(1, 0, n - off), bPrev = b.narrow(1, 0, n - off);
            const torch::Tensor aCur = a.narrow(1, off, n - off), bCur = b.narrow(1, off, n - off);
            b = torch::cat({b.narrow(1, 0, off), aCur * bPrev + bCur}, 1);
            a = torch::cat({a.narrow(1, 0, off), aCur * aPrev}, 1);
        }
        const torch::Tensor hs = a * h.unsqueeze(1) + b;                                  // (B, T, D, N)
        ys.push_back((hs * Cm.narrow(1, t0, n).unsqueeze(2)).sum(-1));                    // (B, T, D)
        h = hs.select(1, n - 1);
    }
    torch::Tensor y = len > 0 ? torch::cat(ys, 1) : torch::zeros({batch, 0, dInner}, u.options());
    if (Dskip.defined()) y = y + u * Dskip;
    if (z.defined()) y = y * torch::silu(z);

    ScanOutputs out;
    out.y = y;
    if (returnLastState) out.lastState = h;
    return out;
}

}  // namespace mts

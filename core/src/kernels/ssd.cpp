// The chunked SSD in LibTorch ops (see ssd.h), the shape checks and the decoding step.
// Internal layout is chunk-major, (B, c, H, Q, .), so that every product is one batched matmul.
#include "mts/core/kernels/ssd.h"

#include <limits>
#include <stdexcept>
#include <string>

#include "mts/core/runtime/torch_compat.h"

namespace mts {

namespace {

std::string shapeOf(const torch::Tensor& t) {
    if (!t.defined()) return "undefined";
    std::string s = "(";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + ")";
}

void expectShape(const torch::Tensor& t, const std::vector<int64_t>& shape, const char* name) {
    if (!t.defined() || t.sizes() != c10::IntArrayRef(shape))
        throw std::invalid_argument(std::string("SSD: ") + name + " must be " + shapeOf(torch::empty(shape, torch::kMeta)) +
                                    ", got " + shapeOf(t));
}

// [.., i, j] = a[.., j+1] + ... + a[.., i] for i >= j, -inf above the diagonal: the log decay
// from position j to position i. From the inclusive cumsum `cs` (.., T): cs_i - cs_j.
torch::Tensor segmentSums(const torch::Tensor& cs) {
    const int64_t t = cs.size(-1);
    const torch::Tensor upper = torch::ones({t, t}, cs.options().dtype(torch::kBool)).triu(1);
    return (cs.unsqueeze(-1) - cs.unsqueeze(-2)).masked_fill(upper, -std::numeric_limits<double>::infinity());
}

torch::ScalarType computeType(const torch::Tensor& x) {
    return x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

}  // namespace

void checkSsdInputs(const SsdInputs& in) {
    if (!in.x.defined() || in.x.dim() != 4) throw std::invalid_argument("SSD: x must be (B, L, H, P), got " + shapeOf(in.x));
    const int64_t b = in.x.size(0), l = in.x.size(1), h = in.x.size(2), p = in.x.size(3);
    if (!in.Bm.defined() || in.Bm.dim() != 4)
        throw std::invalid_argument("SSD: Bm must be (B, L, G, N), got " + shapeOf(in.Bm));
    const int64_t g = in.Bm.size(2), n = in.Bm.size(3);
    if (g < 1 || h % g != 0)
        throw std::invalid_argument("SSD: the group count G = " + std::to_string(g) + " must divide the heads H = " +
                                    std::to_string(h));
    expectShape(in.dt, {b, l, h}, "dt");
    expectShape(in.A, {h}, "A");
    expectShape(in.Cm, {b, l, g, n}, "Cm");
    if (in.D.defined()) expectShape(in.D, {h}, "D");
    if (in.initialState.defined()) expectShape(in.initialState, {b, h, p, n}, "initialState");
}

SsdOutputs ssdChunked(const SsdInputs& in, int64_t chunkSize, bool returnFinalState) {
    checkSsdInputs(in);
    if (chunkSize < 1) throw std::invalid_argument("SSD: chunk size must be >= 1, got " + std::to_string(chunkSize));
    const auto ct = computeType(in.x);
    // Under bf16/f16 autocast the four large products take low-precision operands (accumulated in
    // float32 by oneDNN / cuBLAS), as mamba_ssm's kernels do; cumsums, decays, the state passing
    // and the outputs stay in float32.
    const auto [autocastOn, autocastType] = compat::autocastState(in.x.device().type());
    const auto mt = autocastOn && ct == torch::kFloat32 ? autocastType : ct;
    compat::AutocastOff noAutocast;
    const int64_t b = in.x.size(0), l = in.x.size(1), h = in.x.size(2), p = in.x.size(3);
    const int64_t g = in.Bm.size(2), n = in.Bm.size(3), hg = h / g;
    const int64_t q = std::min(chunkSize, std::max<int64_t>(l, 1));
    const int64_t c = (l + q - 1) / q, lp = c * q, pad = lp - l;

    torch::Tensor x = in.x.to(ct), dt = in.dt.to(ct), bm = in.Bm.to(ct), cm = in.Cm.to(ct);
    if (pad > 0) {  // dt = 0 on the padding: decay 1 and no input, so the state passes unchanged
        x = torch::constant_pad_nd(x, {0, 0, 0, 0, 0, pad});
        dt = torch::constant_pad_nd(dt, {0, 0, 0, pad});
        bm = torch::constant_pad_nd(bm, {0, 0, 0, 0, 0, pad});
        cm = torch::constant_pad_nd(cm, {0, 0, 0, 0, 0, pad});
    }
    // Token-major chunks, (B, c, Q, ...): views of the (padded) inputs. Every product below is one
    // bmm over contiguous (or plainly transposed) matrices, so BLAS/oneDNN take them without the
    // per-matrix copies a broadcasting matmul makes.
    const torch::Tensor dtq = dt.reshape({b, c, q, h});                                // (B, c, Q, H)
    const torch::Tensor acsq = (dtq * in.A.to(ct)).cumsum(2);                         // (B, c, Q, H) log decay from the chunk start
    const torch::Tensor acs = acsq.permute({0, 1, 3, 2}).contiguous();               // (B, c, H, Q)
    const torch::Tensor xdt = x.reshape({b, c, q, h, p}) * dtq.unsqueeze(-1);          // (B, c, Q, H, P)
    // B and C as one (Q, N) matrix per chunk and group: (B*c*G, Q, N), views when G = 1.
    const torch::Tensor bg = bm.reshape({b, c, q, g, n}).transpose(2, 3).reshape({b * c * g, q, n}).to(mt);
    const torch::Tensor cg = cm.reshape({b, c, q, g, n}).transpose(2, 3).reshape({b * c * g, q, n}).to(mt);

    // (1) intra-chunk: y_i = sum_{j <= i} (C_i . B_j) exp(acs_i - acs_j) dt_j x_j, per head
    const torch::Tensor cb = torch::bmm(cg, bg.transpose(1, 2)).view({b, c, g, 1, q, q});  // C B^T per group
    const torch::Tensor decay = segmentSums(acs).exp().to(mt).view({b, c, g, hg, q, q});
    const torch::Tensor scores = (decay * cb).view({b * c * h, q, q});
    const torch::Tensor xh = xdt.to(mt).permute({0, 1, 3, 2, 4}).reshape({b * c * h, q, p});  // head-major copy
    const torch::Tensor yDiag = torch::bmm(scores, xh).view({b, c, h, q, p}).permute({0, 1, 3, 2, 4});  // (B, c, Q, H, P)

    // (2) each chunk's end state from zero, one product per chunk and group over its heads:
    //     S[h] = sum_j exp(acs_last - acs_j) dt_j x_j[h] (outer) B_j
    const torch::Tensor toEnd = (acsq.narrow(2, q - 1, 1) - acsq).exp();             // (B, c, Q, H)
    const torch::Tensor xEnd = (xdt * toEnd.unsqueeze(-1)).to(mt).view({b, c, q, g, hg * p}).transpose(2, 3).reshape(
        {b * c * g, q, hg * p});
    const torch::Tensor chunkStates = torch::bmm(xEnd.transpose(1, 2), bg).to(ct).view({b, c, h, p, n});

    // (3) the states entering each chunk: S_in[k+1] = exp(chunk k's total log decay) S_in[k] + S[k]
    torch::Tensor state = in.initialState.defined() ? in.initialState.to(ct) : torch::zeros({b, h, p, n}, x.options());
    // unbind, not select: its backward is one stack, select's a zero-filled full gradient per chunk.
    const std::vector<torch::Tensor> chunkDecay = acs.select(-1, q - 1).exp().view({b, c, h, 1, 1}).unbind(1);
    const std::vector<torch::Tensor> perChunk = chunkStates.unbind(1);
    std::vector<torch::Tensor> entering;
    entering.reserve(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k) {
        entering.push_back(state);
        state = state * chunkDecay[static_cast<size_t>(k)] + perChunk[static_cast<size_t>(k)];
    }
    const torch::Tensor sIn = torch::stack(entering, 1).to(mt).view({b * c * g, hg * p, n});  // (B, c, H, P, N)

    // (4) inter-chunk: y_i += exp(acs_i) C_i S_in, one product per chunk and group
    torch::Tensor yOff = torch::bmm(cg, sIn.transpose(1, 2)).view({b, c, g, q, hg, p});
    yOff = (g == 1 ? yOff.view({b, c, q, h, p}) : yOff.permute({0, 1, 3, 2, 4, 5}).reshape({b, c, q, h, p}));
    torch::Tensor y = yOff.to(ct) * acsq.exp().unsqueeze(-1) + yDiag.to(ct);         // (B, c, Q, H, P)
    y = y.reshape({b, lp, h, p});
    if (pad > 0) y = y.narrow(1, 0, l);
    if (in.D.defined()) y = y + in.x.to(ct) * in.D.to(ct).view({1, 1, h, 1});
    SsdOutputs out;
    out.y = y;
    if (returnFinalState) out.finalState = state;
    return out;
}

torch::Tensor ssdStep(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                      const torch::Tensor& Cm, const torch::Tensor& D, torch::Tensor& state) {
    if (x.dim() != 3) throw std::invalid_argument("SSD step: x must be (B, H, P), got " + shapeOf(x));
    const int64_t b = x.size(0), h = x.size(1), p = x.size(2);
    if (Bm.dim() != 3 || Bm.size(0) != b || h % std::max<int64_t>(Bm.size(1), 1) != 0)
        throw std::invalid_argument("SSD step: Bm must be (B, G, N) with G dividing H, got " + shapeOf(Bm));
    const int64_t g = Bm.size(1), n = Bm.size(2), hg = h / g;
    expectShape(dt, {b, h}, "dt");
    expectShape(A, {h}, "A");
    expectShape(Cm, {b, g, n}, "Cm");
    expectShape(state, {b, h, p, n}, "state");
    compat::AutocastOff noAutocast;
    const auto ct = state.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const torch::Tensor xs = x.to(ct), dts = dt.to(ct);
    const torch::Tensor bh = Bm.to(ct).repeat_interleave(hg, 1);                    // (B, H, N)
    const torch::Tensor ch = Cm.to(ct).repeat_interleave(hg, 1);                    // (B, H, N)
    const torch::Tensor decay = (dts * A.to(ct)).exp();                             // (B, H)
    torch::Tensor s = state.to(ct) * decay.view({b, h, 1, 1}) +
                      (xs * dts.unsqueeze(-1)).unsqueeze(-1) * bh.unsqueeze(2);     // (B, H, P, N)
    torch::Tensor y = torch::matmul(s, ch.unsqueeze(-1)).squeeze(-1);              // (B, H, P)
    if (D.defined()) y = y + xs * D.to(ct).view({1, h, 1});
    state = s.to(state.scalar_type());
    return y;
}

}  // namespace mts

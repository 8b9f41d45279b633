#pragma once
// The state-space dual (SSD) of Mamba-2 (Dao & Gu 2024): a selective SSM whose decay is one
// scalar per head, so that within a chunk of Q tokens it is a masked matrix product.
//
// Per batch row and head h (state S: (P, N), group g = h / (H / G)):
//   S_t = exp(dt_t[h] * A[h]) * S_{t-1} + dt_t[h] * x_t[h] (outer) B_t[g]
//   y_t[h] = S_t C_t[g] + D[h] * x_t[h]
//
// Layout is token-major (what the mixer's projections give, no transposes on the way in):
//   x (B, L, H, P)   dt (B, L, H): already positive (softplus(dt_raw + dt_bias), clamped, done by
//   the caller)   A (H): negative   Bm, Cm (B, L, G, N), G dividing H   D (H): optional
//   initialState (B, H, P, N): optional;  y (B, L, H, P), finalState (B, H, P, N).
// Glossary: B batch, L length, H heads, P head dimension, G groups, N state size, Q chunk size.
#include <cstdint>

#include <torch/torch.h>

namespace mts {

struct SsdInputs {
    torch::Tensor x, dt, A, Bm, Cm;
    torch::Tensor D;             // optional (undefined = no skip)
    torch::Tensor initialState;  // optional (undefined = zeros); differentiable when given
};

struct SsdOutputs {
    torch::Tensor y;           // (B, L, H, P)
    torch::Tensor finalState;  // (B, H, P, N), the state after the last token (only when asked)
};

/// Checks the shapes of `in` (throws std::invalid_argument naming the first bad tensor).
void checkSsdInputs(const SsdInputs& in);

/// The chunked SSD in LibTorch ops (any device), autograd for the backward: per chunk of
/// `chunkSize` tokens (L not a multiple: padded with dt = 0 internally, which leaves the state
/// unchanged), (1) the intra-chunk output as masked products (C B^T * exp(segment sums of
/// dt*A)) X, (2) each chunk's end state, (3) the states passed from chunk to chunk (a loop
/// over the chunks), (4) the inter-chunk output C S_in * exp(cumsum dt*A).
/// Computes in float64 when x is float64, else in float32 (bf16 inputs are widened); under a
/// bf16/f16 autocast region the four large matrix products take operands in that type
/// (accumulated in float32), while cumsums, decays and the state passing stay float32. y and
/// finalState come back in the compute type. Differentiable w.r.t. x, dt, A,
/// Bm, Cm, D and initialState. Memory: about 3 tensors of (B, chunks, H, Q, Q) plus a few of
/// x's size. Thread-safe. Throws std::invalid_argument on bad shapes or chunkSize < 1.
SsdOutputs ssdChunked(const SsdInputs& in, int64_t chunkSize, bool returnFinalState = false);

/// The plain sequential recurrence above, one token at a time, in float64 (inputs widened),
/// with autograd through it: the test oracle. Returns y and finalState in float64. Slow.
SsdOutputs ssdReference(const SsdInputs& in);

/// One recurrent step (decoding), in float32 (float64 if x is): x (B, H, P), dt (B, H)
/// positive, A (H), Bm, Cm (B, G, N), D (H) optional; `state` (B, H, P, N) float32/64 is
/// updated in place. Returns y (B, H, P). Not differentiable (decoding only).
torch::Tensor ssdStep(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                      const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                      torch::Tensor& state);

}  // namespace mts

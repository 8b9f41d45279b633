#pragma once
// DecodeBlock: one layer of an inference model (generate/inference_model.h) for batch-1
// decoding on raw fp32 vectors, so each architecture (Mamba, Mamba-2, ...) plugs in its own
// fused per-token step while the model keeps embedding, final norm and head.
//
// Threading: step() runs on the calling thread and uses LibTorch's intra-op threads inside
// matrix-vector products; a block is immutable after construction (shareable), its state is
// per sequence.
#include <cstdint>
#include <memory>

#include "mts/core/model/language_model.h"

namespace mts {

/// Per-sequence state of one decode block (conv/SSM state, a KV cache, ...) plus its scratch.
class DecodeBlockState {
public:
    virtual ~DecodeBlockState() = default;
    virtual int64_t bytes() const = 0;  // bytes of recurrent state (scratch excluded)
};

class DecodeBlock {
public:
    virtual ~DecodeBlock() = default;
    virtual std::unique_ptr<DecodeBlockState> newState() const = 0;
    /// residual: (D) fp32, updated in place: residual = block(residual).
    virtual void step(float* residual, DecodeBlockState& state) const = 0;
    /// Copies layer `layer` of a training model's state (after its prefill, batch 1) into `into`.
    /// Throws std::invalid_argument when the state is not of this block's model kind.
    virtual void loadState(const DecodeState& trained, int64_t layer, DecodeBlockState& into) const = 0;
    /// Bytes of weights this block reads per token.
    virtual int64_t weightBytes() const = 0;
};

}  // namespace mts

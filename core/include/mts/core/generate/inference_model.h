#pragma once
// InferenceModel: a trained LanguageModel repacked once for batch-1 CPU decoding. The large
// matrices (in_proj, x_proj, out_proj, embedding / lm_head) are stored in the chosen weight
// type (fp32, bf16, f16, int8 = Q8_0 blocks); the small per-channel tensors stay fp32. Each
// token runs one fused DecodeBlock per layer (mamba_decode_block, mamba2_decode_block: matvecs +
// conv/SSM state update on raw vectors) instead of a LibTorch op chain.
//
// Supported: Mamba (Mamba-1) and Mamba-2 models on the CPU. Others (Transformer, ...) keep
// LibTorch's step(): InferenceModel::supports() says which.
//
// Prefill runs the training model's parallel path (the fused chunked scan) over the prompt in
// chunks, then copies its states into the decode blocks; the prompt's last logits are fp32.
//
// Threading: one thread at a time per state; matvecs use LibTorch's intra-op threads. The
// InferenceModel keeps a reference to the training model (prefill) which must outlive it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mts/core/generate/decode_block.h"
#include "mts/core/kernels/decode_cpu.h"
#include "mts/core/model/language_model.h"

namespace mts {

/// Decoding state of an InferenceModel: the blocks' states and the logits buffer.
class InferenceState {
public:
    int64_t position = 0;  // tokens consumed
    std::vector<std::unique_ptr<DecodeBlockState>> blocks;
    std::vector<float> residual;  // (D)
    std::vector<float> normed;    // (D)
    std::vector<float> logits;    // (V) padded vocabulary
    int64_t bytes() const;        // recurrent state bytes
};

class InferenceModel {
public:
    /// True when `model` can be repacked (a Mamba or Mamba-2 model whose parameters are on the CPU).
    static bool supports(const LanguageModelImpl& model);
    /// Packs the weights. Throws ConfigError when !supports(model).
    InferenceModel(LanguageModelImpl& model, decode::WeightType weights);

    decode::WeightType weights() const { return m_weights; }
    const ModelConfig& config() const { return m_model.config(); }
    /// Weight bytes read per decoded token (all blocks + final norm + head).
    int64_t weightBytesPerToken() const;

    std::unique_ptr<InferenceState> newState() const;
    /// Consumes the prompt ids (non-empty, each < paddedVocab) through the training model's
    /// parallel path in chunks of `chunk` tokens; returns the last position's logits (V).
    const std::vector<float>& prefill(const std::vector<int32_t>& ids, InferenceState& state, int64_t chunk = 512) const;
    /// One token: id -> logits (V), fp32. O(1) in the context length.
    const std::vector<float>& step(int32_t id, InferenceState& state) const;

private:
    LanguageModelImpl& m_model;
    decode::WeightType m_weights;
    decode::PackedMatrix m_embedding;  // (V, D)
    decode::PackedMatrix m_head;       // (V, D); empty rows = 0 when tied (m_embedding is the head)
    bool m_tied = true;
    std::vector<float> m_normF;        // (D)
    std::vector<std::unique_ptr<DecodeBlock>> m_blocks;
};

}  // namespace mts

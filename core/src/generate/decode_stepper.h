#pragma once
// DecodeStepper: one decoding state behind one interface, for generate() and Conversation.
// With an InferenceModel (the fused CPU decoder, inference_model.h) it steps the packed
// weights; without one, LibTorch's LanguageModelImpl::prefill/step in the model's precision.
//
// Threading: one thread at a time (the model's rule). The model and the InferenceModel must
// outlive the stepper. Logits returned are (1, V) CPU float; on the fused path they view the
// state's buffer and stay valid until the next feed() or step().
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "mts/core/generate/inference_model.h"
#include "mts/core/model/language_model.h"

namespace mts::detail {

class DecodeStepper {
public:
    /// inference null: LibTorch's path.
    DecodeStepper(LanguageModelImpl& model, const InferenceModel* inference);
    /// Consumes ids (non-empty, each < the padded vocabulary): the prompt in chunks through the
    /// parallel path on a fresh state, one step per id on a state that already holds tokens.
    /// Returns the logits after the last id.
    torch::Tensor feed(const std::vector<int32_t>& ids);
    /// Consumes one id; returns the logits after it.
    torch::Tensor step(int32_t id);
    /// Ids consumed so far.
    int64_t position() const;
    /// Bytes of the recurrent state (or KV cache).
    int64_t bytes() const;

private:
    LanguageModelImpl& m_model;
    const InferenceModel* m_inference;
    std::unique_ptr<DecodeState> m_state;          // LibTorch path
    std::unique_ptr<InferenceState> m_fastState;   // fused path
};

/// The InferenceModel a request decodes with: `given` when it matches, else one packed into
/// `own` for `weights` ("auto" = kDefaultInferenceWeights, "reference" = none). Null (LibTorch's
/// path) with a warning appended when the model is not supported by the fused decoder.
/// Throws ConfigError for an unknown weights name.
const InferenceModel* chooseInference(LanguageModelImpl& model, const std::string& weights,
                                      const InferenceModel* given, std::unique_ptr<InferenceModel>& own,
                                      std::vector<std::string>& warnings);

}  // namespace mts::detail

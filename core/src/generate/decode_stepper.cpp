// One decoding state behind one interface (see decode_stepper.h).
#include "generate/decode_stepper.h"

#include <fmt/format.h>

#include "generate/decode_loop.h"
#include "mts/core/generate/generation.h"

namespace mts::detail {

DecodeStepper::DecodeStepper(LanguageModelImpl& model, const InferenceModel* inference)
    : m_model(model), m_inference(inference) {
    if (m_inference)
        m_fastState = m_inference->newState();
    else
        m_state = m_model.newState(1);
}

namespace {

torch::Tensor viewLogits(const std::vector<float>& logits) {
    return torch::from_blob(const_cast<float*>(logits.data()), {1, static_cast<int64_t>(logits.size())},
                            torch::kFloat);
}

}  // namespace

torch::Tensor DecodeStepper::feed(const std::vector<int32_t>& ids) {
    if (m_inference) {
        if (m_fastState->position == 0) return viewLogits(m_inference->prefill(ids, *m_fastState));
        for (size_t i = 0; i + 1 < ids.size(); ++i) m_inference->step(ids[i], *m_fastState);
        return viewLogits(m_inference->step(ids.back(), *m_fastState));
    }
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    const torch::Tensor t = torch::tensor(ids64, torch::TensorOptions().dtype(torch::kLong))
                                .view({1, static_cast<int64_t>(ids64.size())})
                                .to(modelDevice(m_model));
    // Copying the logits to the CPU also waits for an asynchronous device, so times are real.
    return m_model.prefill(t, *m_state).to(torch::kCPU, torch::kFloat);
}

torch::Tensor DecodeStepper::step(int32_t id) {
    if (m_inference) return viewLogits(m_inference->step(id, *m_fastState));
    const torch::Tensor next =
        torch::tensor(std::vector<int64_t>{id}, torch::TensorOptions().dtype(torch::kLong)).to(modelDevice(m_model));
    return m_model.step(next, *m_state).to(torch::kCPU, torch::kFloat);
}

int64_t DecodeStepper::position() const { return m_inference ? m_fastState->position : m_state->position(); }

int64_t DecodeStepper::bytes() const {
    return m_inference ? m_fastState->bytes() : static_cast<int64_t>(m_state->bytes());
}

const InferenceModel* chooseInference(LanguageModelImpl& model, const std::string& weights,
                                      const InferenceModel* given, std::unique_ptr<InferenceModel>& own,
                                      std::vector<std::string>& warnings) {
    if (weights == "reference") return nullptr;
    const std::string name = weights == "auto" ? kDefaultInferenceWeights : weights;
    const decode::WeightType type = decode::weightTypeFromString(name);  // ConfigError if unknown
    if (given && (weights == "auto" || given->weights() == type)) return given;
    own = packForDecoding(model, name, warnings);
    return own.get();
}

}  // namespace mts::detail

namespace mts {

std::unique_ptr<InferenceModel> packForDecoding(LanguageModelImpl& model, const std::string& weights,
                                                std::vector<std::string>& warnings) {
    if (weights == "reference") return nullptr;
    const std::string name = weights == "auto" ? kDefaultInferenceWeights : weights;
    const decode::WeightType type = decode::weightTypeFromString(name);  // ConfigError if unknown
    if (!InferenceModel::supports(model)) {
        warnings.push_back(fmt::format("weights {}: the fused decoder supports Mamba and Mamba-2 on the CPU only; this model "
                                       "decodes with LibTorch in its own precision",
                                       name));
        return nullptr;
    }
    return std::make_unique<InferenceModel>(model, type);
}

}  // namespace mts

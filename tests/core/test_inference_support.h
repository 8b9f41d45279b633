#pragma once
// Helpers shared by the fused decoder's tests (test_inference_model*.cpp): the per-precision
// tolerances, a fixed id sequence, and the error of fp32 logits against a reference.
//
// Tolerances, as a fraction of the reference logits' standard deviation over the vocabulary
// (the scale a sampling decision sees), about 3x the worst error measured on the Mamba-1 random
// models of test_inference_model.cpp (in parentheses): fp32 1e-5 (7.7e-7: fp32 rounding and the
// vector exp's 4e-7 relative error over the layers); bf16 0.05 (0.017: 8 mantissa bits, each
// weight off by up to 2^-9 relative); f16 0.01 (0.003: 11 bits); int8 0.2 (0.098: Q8_0 rounds
// the weights and the activations entering each product to 8 bits per block of 32, up to 2^-8
// of the block's largest value, so small entries next to a large one lose most of their bits).
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "mts/core/kernels/decode_cpu.h"
#include "mts/core/model/language_model.h"

namespace mts::test {

inline double decodeTolerance(decode::WeightType t) {
    switch (t) {
        case decode::WeightType::F32: return 1e-5;
        case decode::WeightType::Bf16: return 0.05;
        case decode::WeightType::F16: return 0.01;
        case decode::WeightType::Q8_0: return 0.2;
    }
    return 0;
}

/// n ids (i * 37 + 11) mod vocab.
inline std::vector<int32_t> someIds(int64_t n, int64_t vocab) {
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % vocab));
    return ids;
}

/// ids as a (1, L) int64 tensor.
inline torch::Tensor idTensor(const std::vector<int32_t>& ids) {
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    return torch::tensor(ids64).view({1, -1});
}

/// model's full-sequence logits (L, V) for ids, computed in float64 (the model is converted).
inline torch::Tensor forwardInDouble(LanguageModel model, const std::vector<int32_t>& ids) {
    model->to(torch::kDouble);
    torch::NoGradGuard g;
    return model->forward(idTensor(ids)).squeeze(0);
}

/// got (V) as a float64 tensor (a copy).
inline torch::Tensor logitsTensor(const std::vector<float>& got) {
    return torch::from_blob(const_cast<float*>(got.data()), {static_cast<int64_t>(got.size())}, torch::kFloat)
        .to(torch::kDouble);
}

/// max |got - ref| / std(ref); ref (V) in any floating type.
inline double maxScaledError(const std::vector<float>& got, const torch::Tensor& ref) {
    const torch::Tensor r = ref.to(torch::kDouble);
    return (logitsTensor(got) - r).abs().max().item<double>() / r.std().item<double>();
}

}  // namespace mts::test

// Parity with the Hugging Face MambaForCausalLM dump in ../shared/fixtures/mamba-tiny-hf:
// the checkpoint goes through the public loader, logits are compared at every position,
// the recurrent path token by token, and greedy decoding token for token.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/language_model.h"
#include "shared_data.h"

namespace {

constexpr double kTolerance = 1e-4;  // expected.json: tolerance_abs

struct Fixture {
    mts::LanguageModel model;
    torch::Tensor inputIds;      // (2, 37) int64
    torch::Tensor logits;        // (2, 37, 256)
    torch::Tensor greedyPrompt;  // (1, 9) int64
    torch::Tensor greedyOutput;  // (1, 33) int64
};

Fixture load(const std::filesystem::path& dir) {
    Fixture f;
    mts::LoadedModel loaded = mts::loadModel(dir);
    f.model = loaded.model;
    f.model->eval();
    auto expected = mts::readSafetensors(dir / "expected.safetensors").tensors;
    // The ids are stored as F32 (exact for < 2^24); round before the cast.
    f.inputIds = expected.at("input_ids").round().to(torch::kInt64);
    f.logits = expected.at("logits").to(torch::kFloat32);
    f.greedyPrompt = expected.at("greedy_prompt").round().to(torch::kInt64);
    f.greedyOutput = expected.at("greedy_output").round().to(torch::kInt64);
    return f;
}

TEST(ParityMambaHf, LogitsMatchAtEveryPosition) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    Fixture f = load(dir);
    ASSERT_EQ(f.inputIds.sizes(), (std::vector<int64_t>{2, 37}));
    torch::NoGradGuard noGrad;
    torch::Tensor logits = f.model->forward(f.inputIds);
    const int64_t v = f.logits.size(2);
    ASSERT_GE(logits.size(2), v);
    const double diff = (logits.narrow(2, 0, v) - f.logits).abs().max().item<double>();
    RecordProperty("max_abs_diff", std::to_string(diff));
    EXPECT_LT(diff, kTolerance);
}

TEST(ParityMambaHf, RecurrentStepsMatchTokenByToken) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    Fixture f = load(dir);
    torch::NoGradGuard noGrad;
    const int64_t v = f.logits.size(2), len = f.inputIds.size(1);
    auto state = f.model->newState(f.inputIds.size(0));
    double worst = 0.0;
    for (int64_t t = 0; t < len; ++t) {
        torch::Tensor step = f.model->step(f.inputIds.select(1, t), *state);  // (2, V)
        const double diff = (step.narrow(1, 0, v) - f.logits.select(1, t)).abs().max().item<double>();
        worst = std::max(worst, diff);
        EXPECT_LT(diff, kTolerance) << "position " << t;
    }
    RecordProperty("max_abs_diff", std::to_string(worst));
    EXPECT_EQ(state->position(), len);
}

TEST(ParityMambaHf, GreedyDecodingReproducesTheReference) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    Fixture f = load(dir);
    torch::NoGradGuard noGrad;
    const int64_t v = f.logits.size(2);  // argmax over the real vocabulary only
    const int64_t promptLen = f.greedyPrompt.size(1), total = f.greedyOutput.size(1);
    ASSERT_TRUE(torch::equal(f.greedyOutput.narrow(1, 0, promptLen), f.greedyPrompt));
    auto state = f.model->newState(1);
    torch::Tensor logits = f.model->prefill(f.greedyPrompt, *state);
    std::vector<int64_t> generated;
    for (int64_t t = promptLen; t < total; ++t) {
        const int64_t next = logits.narrow(1, 0, v).argmax(1).item<int64_t>();
        generated.push_back(next);
        logits = f.model->step(torch::tensor({next}, torch::kInt64), *state);
    }
    std::vector<int64_t> expected(f.greedyOutput.data_ptr<int64_t>() + promptLen,
                                  f.greedyOutput.data_ptr<int64_t>() + total);
    EXPECT_EQ(generated, expected);
}

}  // namespace

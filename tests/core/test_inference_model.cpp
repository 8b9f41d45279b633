// The fused CPU decoder (generate/inference_model.h): its per-token step against the training
// model's full-sequence forward computed in double, chunked prefill, every weight precision's
// logits and greedy choices against the reference, and the fallback for unsupported models.
// Tolerances: test_inference_support.h (measured on these models).
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/inference_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"
#include "test_inference_support.h"

namespace {

using mts::decode::WeightType;
using mts::test::maxScaledError;
using mts::test::someIds;
constexpr auto tolerance = mts::test::decodeTolerance;

mts::ModelConfig smallConfig(bool variants) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba;
    c.dModel = 48;  // D_inner 96: Q8_0 blocks, vector tails
    c.nLayer = 3;
    c.vocabSize = 101;  // padded to 104
    c.dState = 16;
    if (variants) {
        c.projBias = true;
        c.residualGate = true;
        c.blockLayerNorm = true;
        c.gelu = true;
        c.tieEmbeddings = false;
    }
    c.validate();
    return c;
}

// Random weights with larger dt / A so the state carries information across tokens, and
// non-zero biases so every term is exercised.
mts::LanguageModel makeModel(const mts::ModelConfig& c, uint64_t seed) {
    torch::manual_seed(seed);
    mts::LanguageModel m = mts::createModel(c);
    torch::NoGradGuard g;
    for (auto& p : m->named_parameters()) {
        if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.2, 0.2);
        if (p.key().find("residual_gate") != std::string::npos || p.key().find("norm") != std::string::npos)
            p.value().uniform_(0.5, 1.5);
    }
    m->eval();
    return m;
}

// Reference logits (L, V) of the full-sequence forward in double.
torch::Tensor forwardDouble(const mts::ModelConfig& c, uint64_t seed, const std::vector<int32_t>& ids) {
    return mts::test::forwardInDouble(makeModel(c, seed), ids);
}

TEST(InferenceModel, EveryPrecisionStepMatchesTheFullForwardInDouble) {
    for (bool variants : {false, true}) {
        const mts::ModelConfig c = smallConfig(variants);
        const std::vector<int32_t> ids = someIds(12, c.vocabSize);
        const torch::Tensor ref = forwardDouble(c, 7, ids);  // (L, V)
        mts::LanguageModel model = makeModel(c, 7);
        for (WeightType t : {WeightType::F32, WeightType::Bf16, WeightType::F16, WeightType::Q8_0}) {
            mts::InferenceModel inf(*model, t);
            auto state = inf.newState();
            double worst = 0;
            for (size_t pos = 0; pos < ids.size(); ++pos) {
                const std::vector<float>& logits = inf.step(ids[pos], *state);
                worst = std::max(worst, maxScaledError(logits, ref[static_cast<int64_t>(pos)]));
            }
            EXPECT_LT(worst, tolerance(t)) << mts::decode::toString(t) << " variants " << variants;
            EXPECT_EQ(state->position, static_cast<int64_t>(ids.size()));
            // A 2-layer... n-layer state: (D_inner * (K-1) + D_inner * N) floats per layer.
            EXPECT_EQ(state->bytes(), c.nLayer * c.dInner() * (c.dConv - 1 + c.dState) * 4);
        }
    }
}

TEST(InferenceModel, ChunkedPrefillThenStepsMatchTheFullForward) {
    const mts::ModelConfig c = smallConfig(false);
    const std::vector<int32_t> ids = someIds(20, c.vocabSize);
    const torch::Tensor ref = forwardDouble(c, 3, ids);
    mts::LanguageModel model = makeModel(c, 3);
    mts::InferenceModel inf(*model, WeightType::F32);
    const std::vector<int32_t> prompt(ids.begin(), ids.begin() + 13);
    for (int64_t chunk : {1, 4, 512}) {
        auto state = inf.newState();
        const std::vector<float> last = inf.prefill(prompt, *state, chunk);
        EXPECT_LT(maxScaledError(last, ref[12]), 1e-4) << "chunk " << chunk;
        for (size_t pos = 13; pos < ids.size(); ++pos) {
            const std::vector<float>& logits = inf.step(ids[pos], *state);
            EXPECT_LT(maxScaledError(logits, ref[static_cast<int64_t>(pos)]), 1e-4) << "chunk " << chunk;
        }
    }
    auto used = inf.newState();
    inf.step(1, *used);
    EXPECT_THROW(inf.prefill(prompt, *used), mts::ConfigError);
    EXPECT_THROW(inf.step(static_cast<int32_t>(c.paddedVocab()), *used), mts::ConfigError);
}

// Greedy decoding on the trained fixture: fp32 gives exactly the fixture's ids; every precision
// picks, at each step, an id whose reference logit (same history, LibTorch fp32) is within the
// precision's tolerance of the best one (so a choice differs only where the reference is
// undecided at that precision).
TEST(InferenceModel, GreedyContinuationsAgreeWithTheReferencePath) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
    const auto prompt = expected.at("greedy_prompt").get<std::vector<int32_t>>();
    const auto full = expected.at("greedy_output").get<std::vector<int32_t>>();
    const std::vector<int32_t> wanted(full.begin() + static_cast<std::ptrdiff_t>(prompt.size()), full.end());
    mts::LoadedModel loaded = mts::loadModel(dir);
    for (const std::string w : {"reference", "fp32", "bf16", "f16", "int8"}) {
        mts::GenerateRequest req;
        req.promptIds = prompt;
        req.options.temperature = 0.0;
        req.options.stopAtEos = false;
        req.options.maxNewTokens = static_cast<int64_t>(wanted.size());
        req.weights = w;
        const mts::GenerateResult r = mts::generate(*loaded.model, loaded.tokenizer.get(), req);
        EXPECT_EQ(r.weights, w);
        ASSERT_EQ(r.ids.size(), wanted.size()) << w;
        if (w == "reference" || w == "fp32") {
            EXPECT_EQ(r.ids, wanted) << w;
            continue;
        }
        std::vector<int32_t> history = prompt;
        torch::NoGradGuard g;
        for (int32_t id : r.ids) {
            std::vector<int64_t> h64(history.begin(), history.end());
            const torch::Tensor logits =
                loaded.model->forward(torch::tensor(h64).view({1, -1}))[0][-1].to(torch::kDouble);
            const double gap = (logits.max() - logits[id]).item<double>() / logits.std().item<double>();
            EXPECT_LE(gap, 2 * tolerance(mts::decode::weightTypeFromString(w))) << w;
            history.push_back(id);
        }
    }
}

TEST(InferenceModel, UnsupportedModelsFallBackToLibTorchWithAWarning) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Transformer;
    c.dModel = 32;
    c.nLayer = 1;
    c.nHead = 2;
    c.vocabSize = 50;
    c.maxSeqLen = 64;
    c.validate();
    mts::LanguageModel model = mts::createModel(c);
    EXPECT_FALSE(mts::InferenceModel::supports(*model));
    EXPECT_THROW(mts::InferenceModel(*model, WeightType::Q8_0), mts::ConfigError);
    mts::GenerateRequest req;
    req.promptIds = {1, 2, 3};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 4;
    req.weights = "int8";
    const mts::GenerateResult r = mts::generate(*model, nullptr, req);
    EXPECT_EQ(r.weights, "reference");
    EXPECT_EQ(r.ids.size(), 4u);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("Mamba"), std::string::npos);
    req.weights = "int4";
    EXPECT_THROW(mts::generate(*model, nullptr, req), mts::ConfigError);
}

}  // namespace

// The fused CPU decoder on Mamba-2 models (generate/mamba2_decode_block.cpp): each precision's
// per-token logits against the full-sequence forward computed in double and against LibTorch's
// fp32 step path, greedy continuations against the LibTorch path, the training model's chunked
// prefill followed by fused steps against fused steps only, and loadState from a prefilled
// training state.
//
// Tolerances, in the units of test_inference_support.h (a fraction of the reference logits'
// standard deviation), about 3x the worst error measured on these models over 12 tokens (in
// parentheses; the error against LibTorch's fp32 step is the same to 3 digits): fp32 1e-5
// (2.3e-6: fp32 rounding, the vector exp, the fused kernels' summation order); bf16 0.1 (0.030);
// f16 0.02 (0.005); int8 0.35 (0.116). About twice Mamba-1's: the rounded in_proj here also
// produces dt, B and C, whose errors pass through exp(dt * A) and the outer product into the
// state and so reach every later token (in Mamba-1 dt goes through the fp32 dt_proj). Only
// in_proj, out_proj and the embedding/head take the lower precisions; the conv, dt_bias, A, D
// and the norms stay fp32.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "generate/mamba2_decode_block.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/inference_model.h"
#include "mts/core/model/mamba.h"
#include "mts/core/model/mamba2.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "test_inference_support.h"

namespace {

using mts::decode::WeightType;
using mts::test::idTensor;
using mts::test::maxScaledError;
using mts::test::someIds;

double mamba2Tolerance(WeightType t) {
    switch (t) {
        case WeightType::F32: return 1e-5;
        case WeightType::Bf16: return 0.1;
        case WeightType::F16: return 0.02;
        case WeightType::Q8_0: return 0.35;
    }
    return 0;
}

// D 48 -> D_inner 96 = 6 heads of 16 in 2 groups; N 20 (vector tails); chunk 4 (prefill over
// several chunks, the last one partial). The variant has biases and an untied head.
mts::ModelConfig smallMamba2Config(bool variants) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba2;
    c.dModel = 48;
    c.nLayer = 3;
    c.vocabSize = 101;  // padded to 104
    c.dState = 20;
    c.headDim = 16;
    c.nGroups = 2;
    c.chunkSize = 4;
    if (variants) {
        c.projBias = true;
        c.tieEmbeddings = false;
    }
    c.validate();
    return c;
}

// Random weights with larger dt so the state carries information across tokens, and non-zero
// biases and norm weights so every term is exercised.
mts::LanguageModel makeMamba2Model(const mts::ModelConfig& c, uint64_t seed) {
    torch::manual_seed(seed);
    mts::LanguageModel m = mts::createModel(c);
    torch::NoGradGuard g;
    for (auto& p : m->named_parameters()) {
        const std::string& k = p.key();
        if (k.find("dt_bias") != std::string::npos) {
            p.value().uniform_(-1.0, 1.0);
        } else if (k.find("bias") != std::string::npos) {
            p.value().uniform_(-0.2, 0.2);
        } else if (k.find("norm") != std::string::npos || k.find(".D") != std::string::npos) {
            p.value().uniform_(0.5, 1.5);
        } else if (k.find("A_log") != std::string::npos) {
            p.value().uniform_(-1.0, 1.0);
        }
    }
    m->eval();
    return m;
}

// Reference logits (L, V) of the full-sequence forward in double.
torch::Tensor forwardMamba2Double(const mts::ModelConfig& c, uint64_t seed, const std::vector<int32_t>& ids) {
    return mts::test::forwardInDouble(makeMamba2Model(c, seed), ids);
}

TEST(InferenceModelMamba2, EveryPrecisionStepMatchesTheForwardInDoubleAndTheLibTorchStep) {
    for (bool variants : {false, true}) {
        const mts::ModelConfig c = smallMamba2Config(variants);
        const std::vector<int32_t> ids = someIds(12, c.vocabSize);
        const torch::Tensor ref = forwardMamba2Double(c, 7, ids);  // (L, V)
        mts::LanguageModel model = makeMamba2Model(c, 7);
        ASSERT_TRUE(mts::InferenceModel::supports(*model));
        // LibTorch's fp32 step path, the one --weights reference decodes with.
        std::vector<torch::Tensor> libtorch;
        {
            torch::NoGradGuard g;
            auto state = model->newState(1);
            for (int32_t id : ids) libtorch.push_back(model->step(torch::tensor({int64_t{id}}), *state)[0]);
        }
        for (WeightType t : {WeightType::F32, WeightType::Bf16, WeightType::F16, WeightType::Q8_0}) {
            mts::InferenceModel inf(*model, t);
            auto state = inf.newState();
            double worstRef = 0, worstStep = 0;
            for (size_t pos = 0; pos < ids.size(); ++pos) {
                const std::vector<float>& logits = inf.step(ids[pos], *state);
                worstRef = std::max(worstRef, maxScaledError(logits, ref[static_cast<int64_t>(pos)]));
                worstStep = std::max(worstStep, maxScaledError(logits, libtorch[pos]));
            }
            EXPECT_LT(worstRef, mamba2Tolerance(t)) << mts::decode::toString(t) << " variants " << variants;
            EXPECT_LT(worstStep, mamba2Tolerance(t)) << mts::decode::toString(t) << " variants " << variants;
            EXPECT_EQ(state->position, static_cast<int64_t>(ids.size()));
            // Per layer: conv (D_inner + 2 G N) * (K-1) + ssm H * P * N = D_inner * N floats.
            const int64_t convDim = c.dInner() + 2 * c.nGroups * c.dState;
            EXPECT_EQ(state->bytes(), c.nLayer * (convDim * (c.dConv - 1) + c.dInner() * c.dState) * 4);
            EXPECT_GT(inf.weightBytesPerToken(), 0);
        }
    }
}

TEST(InferenceModelMamba2, ChunkedPrefillThenFusedStepsMatchFusedStepsOnly) {
    const mts::ModelConfig c = smallMamba2Config(false);
    const std::vector<int32_t> ids = someIds(20, c.vocabSize);
    const torch::Tensor ref = forwardMamba2Double(c, 3, ids);
    mts::LanguageModel model = makeMamba2Model(c, 3);
    mts::InferenceModel inf(*model, WeightType::F32);
    std::vector<std::vector<float>> stepsOnly;
    {
        auto state = inf.newState();
        for (int32_t id : ids) stepsOnly.push_back(inf.step(id, *state));
    }
    const std::vector<int32_t> prompt(ids.begin(), ids.begin() + 13);
    for (int64_t chunk : {1, 5, 512}) {
        auto state = inf.newState();
        const std::vector<float> last = inf.prefill(prompt, *state, chunk);
        EXPECT_LT(maxScaledError(last, ref[12]), 1e-4) << "chunk " << chunk;
        EXPECT_LT(maxScaledError(last, mts::test::logitsTensor(stepsOnly[12])), 1e-4) << "chunk " << chunk;
        for (size_t pos = 13; pos < ids.size(); ++pos) {
            const std::vector<float>& logits = inf.step(ids[pos], *state);
            EXPECT_LT(maxScaledError(logits, ref[static_cast<int64_t>(pos)]), 1e-4) << "chunk " << chunk;
            EXPECT_LT(maxScaledError(logits, mts::test::logitsTensor(stepsOnly[pos])), 1e-4) << "chunk " << chunk;
        }
        EXPECT_EQ(state->position, static_cast<int64_t>(ids.size()));
    }
}

// loadState copies a prefilled training state (conv and SSM state, exactly), so the next fused
// step agrees with LibTorch's; a Mamba-1 state, a batch-2 state or a layer out of range is refused.
TEST(InferenceModelMamba2, LoadStateTakesTheTrainedStateAndRefusesOtherKinds) {
    const mts::ModelConfig c = smallMamba2Config(false);
    const std::vector<int32_t> ids = someIds(9, c.vocabSize);
    mts::LanguageModel model = makeMamba2Model(c, 5);
    torch::NoGradGuard g;
    auto trained = model->newState(1);
    model->prefill(idTensor(ids), *trained);
    auto& lm = dynamic_cast<mts::Mamba2LMImpl&>(*model);
    auto block = mts::makeMamba2DecodeBlock(*lm.backbone->blocks[1], c, WeightType::F32);
    auto blockState = block->newState();
    block->loadState(*trained, 1, *blockState);
    EXPECT_EQ(blockState->bytes(), trained->bytes() / c.nLayer);

    // The block's step from the loaded state == LibTorch's block step from the trained state.
    const auto& layer = dynamic_cast<mts::Mamba2State&>(*trained).layers[1];
    mts::Mamba2LayerState libState{layer.conv.clone(), layer.ssm.clone()};
    const torch::Tensor x = torch::randn({1, c.dModel});
    const torch::Tensor want = lm.backbone->blocks[1]->step(x, libState)[0].to(torch::kDouble);
    std::vector<float> residual(x.data_ptr<float>(), x.data_ptr<float>() + c.dModel);
    block->step(residual.data(), *blockState);
    EXPECT_LT((mts::test::logitsTensor(residual) - want).abs().max().item<double>(), 1e-5 * (1 + want.abs().max().item<double>()));
    // ... and again, so the updated state agrees too.
    const torch::Tensor want2 = lm.backbone->blocks[1]->step(x, libState)[0].to(torch::kDouble);
    residual.assign(x.data_ptr<float>(), x.data_ptr<float>() + c.dModel);
    block->step(residual.data(), *blockState);
    EXPECT_LT((mts::test::logitsTensor(residual) - want2).abs().max().item<double>(), 1e-5 * (1 + want2.abs().max().item<double>()));

    mts::ModelConfig m1 = c;
    m1.arch = mts::Architecture::Mamba;
    m1.dState = 16;
    m1.validate();
    mts::LanguageModel mamba1 = mts::createModel(m1);
    EXPECT_THROW(block->loadState(*mamba1->newState(1), 1, *blockState), std::invalid_argument);
    EXPECT_THROW(block->loadState(*model->newState(2), 1, *blockState), std::invalid_argument);
    EXPECT_THROW(block->loadState(*trained, c.nLayer, *blockState), std::invalid_argument);
}

TEST(InferenceModelMamba2, GreedyContinuationsAgreeWithTheLibTorchPath) {
    const mts::ModelConfig c = smallMamba2Config(true);
    mts::LanguageModel model = makeMamba2Model(c, 11);
    const std::vector<int32_t> prompt = someIds(7, c.vocabSize);
    const int64_t n = 24;
    std::vector<int32_t> reference;
    for (const std::string w : {"reference", "fp32", "bf16", "f16", "int8"}) {
        mts::GenerateRequest req;
        req.promptIds = prompt;
        req.options.temperature = 0.0;
        req.options.stopAtEos = false;
        req.options.maxNewTokens = n;
        req.weights = w;
        const mts::GenerateResult r = mts::generate(*model, nullptr, req);
        EXPECT_EQ(r.weights, w);
        EXPECT_TRUE(r.warnings.empty()) << w << ": " << (r.warnings.empty() ? "" : r.warnings[0]);
        ASSERT_EQ(static_cast<int64_t>(r.ids.size()), n) << w;
        if (w == "reference") {
            reference = r.ids;
            continue;
        }
        if (w == "fp32") {
            EXPECT_EQ(r.ids, reference);
            continue;
        }
        // Lower precisions: each choice is within the precision's mamba2Tolerance of the best logit
        // of the reference model given the same history.
        std::vector<int32_t> history = prompt;
        torch::NoGradGuard g;
        for (int32_t id : r.ids) {
            const torch::Tensor logits = model->forward(idTensor(history))[0][-1].to(torch::kDouble);
            const double gap = (logits.max() - logits[id]).item<double>() / logits.std().item<double>();
            EXPECT_LE(gap, 2 * mamba2Tolerance(mts::decode::weightTypeFromString(w))) << w;
            history.push_back(id);
        }
    }
}

}  // namespace

// The decoding loop against a scripted model (exact control over each step's logits), and
// greedy parity with the mamba-tiny-hf fixture through the public loader.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"

namespace {

class ScriptState : public mts::DecodeState {
public:
    int64_t position() const override { return m_position; }
    int64_t bytes() const override { return 64; }
    int64_t m_position = 0;
};

// A model whose logits at position t put the largest real-vocabulary value on script[t % size]
// (or are seeded noise when the script is empty), and far larger values on the padded rows.
class ScriptModelImpl : public mts::LanguageModelImpl {
public:
    ScriptModelImpl(mts::ModelConfig c, std::vector<int32_t> script)
        : LanguageModelImpl(std::move(c)), m_script(std::move(script)) {
        // One parameter so the loop can find the device; never used in the maths.
        m_weight = register_parameter("weight", torch::zeros({1}));
    }
    torch::Tensor forward(const torch::Tensor& ids) override {
        return torch::zeros({ids.size(0), ids.size(1), m_config.paddedVocab()});
    }
    std::unique_ptr<mts::DecodeState> newState(int64_t batch) override {
        EXPECT_EQ(batch, 1);
        return std::make_unique<ScriptState>();
    }
    torch::Tensor prefill(const torch::Tensor& ids, mts::DecodeState& state) override {
        ++prefillCalls;
        prefillLength = ids.size(1);
        sawEvalMode = !is_training();
        sawNoGrad = !torch::GradMode::is_enabled();
        auto& s = static_cast<ScriptState&>(state);
        s.m_position += ids.size(1);
        return logitsAt(s.m_position - 1);
    }
    torch::Tensor step(const torch::Tensor& ids, mts::DecodeState& state) override {
        EXPECT_EQ(ids.dim(), 1);
        ++stepCalls;
        fedBack.push_back(static_cast<int32_t>(ids[0].item<int64_t>()));
        auto& s = static_cast<ScriptState&>(state);
        s.m_position += 1;
        maxPosition = std::max(maxPosition, s.m_position);
        return logitsAt(s.m_position - 1);
    }

    int prefillCalls = 0, stepCalls = 0;
    int64_t prefillLength = 0, maxPosition = 0;
    bool sawEvalMode = false, sawNoGrad = false;
    std::vector<int32_t> fedBack;
    int64_t promptLength = 0;  // position of the first generated token = prompt length

private:
    torch::Tensor logitsAt(int64_t position) {
        const int64_t v = m_config.paddedVocab();
        torch::Tensor out;
        if (m_script.empty()) {
            // Varied, reproducible values without touching torch's global RNG.
            out = 3.0f * torch::sin(torch::arange(v, torch::kFloat) * (0.7f * static_cast<float>(position + 1)))
                             .view({1, v});
        } else {
            out = torch::full({1, v}, -5.0f);
            const int64_t t = position + 1 - promptLength;  // index of the token being predicted
            out[0][m_script[static_cast<size_t>(std::max<int64_t>(0, t)) % m_script.size()]] = 5.0f;
        }
        out.narrow(1, m_config.vocabSize, v - m_config.vocabSize).fill_(100.0f);
        return out;
    }
    std::vector<int32_t> m_script;
    torch::Tensor m_weight;
};
TORCH_MODULE(ScriptModel);

mts::ModelConfig byteConfig() {
    mts::ModelConfig c;
    c.vocabSize = 257;  // byte tokenizer; padded to 264
    return c;
}

std::vector<int32_t> bytesOf(const std::string& s) {
    std::vector<int32_t> out;
    for (unsigned char ch : s) out.push_back(ch);
    return out;
}

struct Stream {
    std::vector<int32_t> ids;
    std::vector<std::string> chunks;
    std::string text;
    mts::TokenCallback callback() {
        return [this](int32_t id, const std::string& t) {
            ids.push_back(id);
            chunks.push_back(t);
            text += t;
            return true;
        };
    }
};

ScriptModel scripted(const std::string& text, int64_t promptLength, mts::ModelConfig c = byteConfig()) {
    ScriptModel m(c, bytesOf(text));
    m->promptLength = promptLength;
    return m;
}

TEST(Generation, GreedyFollowsScriptPrefillsOnceAndStepsPerToken) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("hello", 3);
    mts::GenerateRequest req;
    req.promptIds = {1, 2, 3};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 5;
    Stream stream;
    auto r = mts::generate(*model, tok.get(), req, stream.callback());
    EXPECT_EQ(r.ids, bytesOf("hello"));
    EXPECT_EQ(r.text, "hello");
    EXPECT_EQ(stream.text, "hello");
    EXPECT_EQ(stream.ids, r.ids);
    EXPECT_EQ(r.stopReason, mts::StopReason::MaxTokens);
    EXPECT_EQ(model->prefillCalls, 1);
    EXPECT_EQ(model->prefillLength, 3);
    EXPECT_EQ(model->stepCalls, 4);  // the last id is never fed back
    EXPECT_EQ(model->fedBack, bytesOf("hell"));
    EXPECT_TRUE(model->sawEvalMode);
    EXPECT_TRUE(model->sawNoGrad);
    EXPECT_EQ(r.promptTokens, 3);
    EXPECT_EQ(r.stateBytes, 64);
}

TEST(Generation, RestoresTrainingModeAndRespectsZeroTokens) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("x", 1);
    model->train();
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.maxNewTokens = 0;
    auto r = mts::generate(*model, tok.get(), req);
    EXPECT_TRUE(r.ids.empty());
    EXPECT_TRUE(model->is_training());
    EXPECT_TRUE(model->sawEvalMode);
}

TEST(Generation, PaddedRowsAreNeverSampledEvenWithHugeLogits) {
    auto tok = mts::makeByteTokenizer();
    ScriptModel model(byteConfig(), std::vector<int32_t>{});  // noise logits, padded rows at +100
    mts::GenerateRequest req;
    req.promptIds = {10};
    req.options.temperature = 3.0;
    req.options.maxNewTokens = 40;
    req.options.stopAtEos = false;
    auto r = mts::generate(*model, tok.get(), req);
    ASSERT_EQ(r.ids.size(), 40u);
    for (int32_t id : r.ids) EXPECT_LT(id, 257);
}

TEST(Generation, SameSeedSameTokens) {
    auto tok = mts::makeByteTokenizer();
    auto run = [&](uint64_t seed) {
        ScriptModel model(byteConfig(), std::vector<int32_t>{});
        mts::GenerateRequest req;
        req.promptIds = {10, 11};
        req.options.seed = seed;
        req.options.maxNewTokens = 20;
        req.options.stopAtEos = false;
        req.options.topP = 0.9;
        return mts::generate(*model, tok.get(), req).ids;
    };
    EXPECT_EQ(run(7), run(7));
    EXPECT_NE(run(7), run(8));
}

TEST(Generation, StopStringSpanningTokensEndsAndIsNeverStreamed) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("ab STOP cd", 1);
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 50;
    req.options.stopStrings = {"STOP", "zzz"};
    Stream stream;
    auto r = mts::generate(*model, tok.get(), req, stream.callback());
    EXPECT_EQ(r.stopReason, mts::StopReason::StopString);
    EXPECT_EQ(r.text, "ab ");
    EXPECT_EQ(stream.text, "ab ");
    EXPECT_EQ(r.ids, bytesOf("ab STOP"));  // ids up to the one that completed the stop string
    for (const auto& c : stream.chunks) EXPECT_EQ(c.find('S'), std::string::npos);
}

TEST(Generation, HeldBackPrefixIsReleasedWhenItIsNotAStopString) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("ab STx", 1);
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 6;
    req.options.stopStrings = {"STOP"};
    Stream stream;
    auto r = mts::generate(*model, tok.get(), req, stream.callback());
    EXPECT_EQ(r.stopReason, mts::StopReason::MaxTokens);
    EXPECT_EQ(r.text, "ab STx");
    EXPECT_EQ(stream.text, "ab STx");
    ASSERT_EQ(stream.chunks.size(), 6u);
    EXPECT_EQ(stream.chunks[3], "");  // "S" waits: it may start "STOP"
    EXPECT_EQ(stream.chunks[4], "");  // "ST" waits
    EXPECT_EQ(stream.chunks[5], "STx");
}

TEST(Generation, CallbackReturningFalseCancels) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("abcdefgh", 1);
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 8;
    int calls = 0;
    auto r = mts::generate(*model, tok.get(), req, [&](int32_t, const std::string&) { return ++calls < 3; });
    EXPECT_EQ(r.stopReason, mts::StopReason::Cancelled);
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(r.ids, bytesOf("abc"));
    EXPECT_EQ(model->stepCalls, 2);
}

TEST(Generation, EosEndsGenerationAndIsNotPartOfTheOutput) {
    auto tok = mts::makeByteTokenizer();
    ASSERT_EQ(tok->eosId(), std::optional<int32_t>(256));
    ScriptModel model(byteConfig(), std::vector<int32_t>{'o', 'k', 256, 'x'});
    model->promptLength = 1;
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 10;
    auto r = mts::generate(*model, tok.get(), req);
    EXPECT_EQ(r.stopReason, mts::StopReason::Eos);
    EXPECT_EQ(r.ids, bytesOf("ok"));
    EXPECT_EQ(r.text, "ok");

    req.options.stopAtEos = false;
    ScriptModel again(byteConfig(), std::vector<int32_t>{'o', 'k', 256, 'x'});
    again->promptLength = 1;
    EXPECT_EQ(mts::generate(*again, tok.get(), req).ids.size(), 10u);
}

TEST(Generation, MultiByteCharactersSplitAcrossTokensStreamWhole) {
    auto tok = mts::makeByteTokenizer();
    const std::string text = "a\xC3\xA9\xE2\x82\xAC" "b";  // a é € b: 1 + 2 + 3 + 1 bytes, one per token
    auto model = scripted(text, 1);
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = static_cast<int64_t>(text.size());
    Stream stream;
    auto r = mts::generate(*model, tok.get(), req, stream.callback());
    EXPECT_EQ(r.text, text);
    EXPECT_EQ(stream.chunks, (std::vector<std::string>{"a", "", "\xC3\xA9", "", "", "\xE2\x82\xAC", "b"}));
}

TEST(Generation, IncompleteCharacterAtTheEndBecomesReplacement) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("a\xE2\x82", 1);
    mts::GenerateRequest req;
    req.promptIds = {65};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 3;
    Stream stream;
    auto r = mts::generate(*model, tok.get(), req, stream.callback());
    EXPECT_EQ(r.text, "a\xEF\xBF\xBD");
    EXPECT_EQ(stream.text, r.text);
}

TEST(Generation, LearnedPositionsLimitTheNewTokens) {
    auto tok = mts::makeByteTokenizer();
    mts::ModelConfig c = byteConfig();
    c.arch = mts::Architecture::Transformer;
    c.positions = "learned";
    c.maxSeqLen = 8;
    auto model = scripted("abcdefghij", 5, c);
    mts::GenerateRequest req;
    req.promptIds = {1, 2, 3, 4, 5};
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 10;
    auto r = mts::generate(*model, tok.get(), req);
    EXPECT_EQ(r.stopReason, mts::StopReason::ContextFull);
    EXPECT_EQ(r.ids.size(), 4u);
    EXPECT_LE(model->maxPosition, 8);
    EXPECT_FALSE(r.warnings.empty());

    req.promptIds.assign(9, 1);
    EXPECT_THROW(mts::generate(*model, tok.get(), req), mts::ConfigError);
}

TEST(Generation, PromptChecks) {
    auto tok = mts::makeByteTokenizer();
    auto model = scripted("z", 1);
    mts::GenerateRequest req;
    req.options.temperature = 0.0;
    req.options.maxNewTokens = 2;
    // An empty prompt starts from the end-of-document id.
    auto r = mts::generate(*model, tok.get(), req);
    EXPECT_EQ(model->prefillLength, 1);
    EXPECT_EQ(r.ids.size(), 2u);
    EXPECT_THROW(mts::generate(*model, nullptr, req), mts::ConfigError);
    req.promptIds = {1, 999};
    EXPECT_THROW(mts::generate(*model, tok.get(), req), mts::ConfigError);
    req.promptIds = {1};
    req.options.topP = 0.0;
    EXPECT_THROW(mts::generate(*model, tok.get(), req), mts::ConfigError);
}

TEST(Generation, GreedyReproducesTheMambaTinyFixture) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
    const auto prompt = expected.at("greedy_prompt").get<std::vector<int32_t>>();
    const auto full = expected.at("greedy_output").get<std::vector<int32_t>>();
    ASSERT_GT(full.size(), prompt.size());
    const std::vector<int32_t> wanted(full.begin() + static_cast<std::ptrdiff_t>(prompt.size()), full.end());

    mts::LoadedModel loaded = mts::loadModel(dir);
    mts::GenerateRequest req;
    req.promptIds = prompt;
    req.options.temperature = 0.0;
    req.options.maxNewTokens = static_cast<int64_t>(wanted.size());
    req.weights = "fp32";  // the fixture's ids are an fp32 reference; other precisions: test_inference_model.cpp
    auto r = mts::generate(*loaded.model, loaded.tokenizer.get(), req);
    EXPECT_EQ(r.ids, wanted);
    EXPECT_EQ(r.stopReason, mts::StopReason::MaxTokens);
}

}  // namespace

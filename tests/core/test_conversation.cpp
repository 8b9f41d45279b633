// Conversation (issue 14, item 8): each turn continues the whole transcript from the carried
// decoding state; only the new ids are run through the model; reset starts afresh.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/generate/conversation.h"
#include "mts/core/generate/generation.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"

namespace {

// Delegates to a real model and records how many ids each prefill/step consumed.
class CountingModelImpl : public mts::LanguageModelImpl {
public:
    explicit CountingModelImpl(mts::LanguageModel inner)
        : LanguageModelImpl(inner->config()), m_inner(register_module("inner", inner)) {}
    torch::Tensor forward(const torch::Tensor& ids) override { return m_inner->forward(ids); }
    std::unique_ptr<mts::DecodeState> newState(int64_t batch) override { return m_inner->newState(batch); }
    torch::Tensor prefill(const torch::Tensor& ids, mts::DecodeState& state) override {
        prefillLengths.push_back(ids.size(1));
        return m_inner->prefill(ids, state);
    }
    torch::Tensor step(const torch::Tensor& ids, mts::DecodeState& state) override {
        ++steps;
        return m_inner->step(ids, state);
    }
    std::vector<int64_t> prefillLengths;
    int64_t steps = 0;

private:
    mts::LanguageModel m_inner;
};

mts::SamplingOptions greedy(int64_t n) {
    mts::SamplingOptions o;
    o.temperature = 0.0;
    o.maxNewTokens = n;
    o.stopAtEos = false;
    return o;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(Conversation, SecondTurnContinuesTheCarriedStateAsARecomputeWould) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::LoadedModel loaded = mts::loadModel(dir);
    auto counting = std::make_shared<CountingModelImpl>(loaded.model);
    const std::vector<int32_t> turn1 = {195, 84, 241, 105, 133};
    const std::vector<int32_t> turn2 = {59, 170, 105};

    mts::Conversation chat(*counting, loaded.tokenizer.get());
    const auto a = chat.sendIds(turn1, greedy(6));
    ASSERT_EQ(a.ids.size(), 6u);
    const auto b = chat.sendIds(turn2, greedy(6));
    ASSERT_EQ(b.ids.size(), 6u);

    // Only the new ids went through the model: turn 1's prompt, then turn 1's last id + turn 2.
    EXPECT_EQ(counting->prefillLengths, (std::vector<int64_t>{5, 4}));
    EXPECT_EQ(b.promptTokens, 4);
    EXPECT_EQ(counting->steps, 10);
    EXPECT_EQ(chat.ids(), concat(concat(concat(turn1, a.ids), turn2), b.ids));
    EXPECT_EQ(chat.statePosition(), static_cast<int64_t>(chat.ids().size()) - 1);
    EXPECT_EQ(chat.turns(), 2);

    // The same continuation as generating from the whole transcript at once.
    mts::GenerateRequest whole;
    whole.promptIds = concat(concat(turn1, a.ids), turn2);
    whole.options = greedy(6);
    EXPECT_EQ(mts::generate(*loaded.model, loaded.tokenizer.get(), whole).ids, b.ids);

    // Reset: a fresh state, the first turn's answer again.
    chat.reset();
    EXPECT_EQ(chat.turns(), 0);
    EXPECT_TRUE(chat.ids().empty());
    EXPECT_EQ(chat.sendIds(turn1, greedy(6)).ids, a.ids);
    EXPECT_EQ(counting->prefillLengths.back(), 5);
}

TEST(Conversation, TextTurnsBuildTheTranscriptAndEmptyTextContinues) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::LoadedModel loaded = mts::loadModel(dir);
    mts::Conversation chat(*loaded.model, loaded.tokenizer.get());
    mts::SamplingOptions o;
    o.temperature = 0.8;
    o.topK = 20;
    o.seed = 7;
    o.maxNewTokens = 8;
    o.stopAtEos = false;
    std::string streamed;
    auto collect = [&](int32_t, const std::string& t) {
        streamed += t;
        return true;
    };
    const auto a = chat.send("hello", o, collect);
    const auto b = chat.send(" and", o, collect);
    const auto c = chat.send("", o, collect);  // just more
    EXPECT_EQ(streamed, a.text + b.text + c.text);
    EXPECT_EQ(chat.text(), "hello" + a.text + " and" + b.text + c.text);
    EXPECT_EQ(c.promptTokens, 1);  // only b's last id
    EXPECT_EQ(chat.ids().size(), 5u + 8u + 4u + 8u + 8u);
}

TEST(Conversation, LearnedPositionsEndTheTurnAndThenRefuseMore) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Transformer;
    c.dModel = 16;
    c.nLayer = 1;
    c.nHead = 2;
    c.maxSeqLen = 8;
    c.vocabSize = 257;
    torch::manual_seed(1);
    mts::LanguageModel model = mts::createModel(c);
    auto tok = mts::makeByteTokenizer();
    mts::Conversation chat(*model, tok.get());
    const auto a = chat.send("abcde", greedy(10));
    EXPECT_EQ(a.stopReason, mts::StopReason::ContextFull);
    EXPECT_EQ(a.ids.size(), 4u);  // positions 5..7 plus one id that is never fed
    EXPECT_THROW(chat.send("x", greedy(2)), mts::ConfigError);
    EXPECT_EQ(chat.turns(), 1);  // the refused turn changed nothing
    chat.reset();
    EXPECT_EQ(chat.send("x", greedy(2)).ids.size(), 2u);
}

TEST(Conversation, NeedsATokenizerForTextAndValidOptions) {
    mts::ModelConfig c;
    c.dModel = 16;
    c.nLayer = 1;
    c.vocabSize = 257;
    mts::LanguageModel model = mts::createModel(c);
    mts::Conversation noTok(*model, nullptr);
    EXPECT_THROW(noTok.send("hi", greedy(1)), mts::ConfigError);
    EXPECT_THROW(noTok.sendIds({}, greedy(1)), mts::ConfigError);  // nothing to start from
    EXPECT_EQ(noTok.sendIds({1, 2}, greedy(3)).ids.size(), 3u);
    mts::SamplingOptions bad = greedy(1);
    bad.topP = 0.0;
    EXPECT_THROW(noTok.sendIds({3}, bad), mts::ConfigError);
    EXPECT_THROW(noTok.sendIds({99999}, greedy(1)), mts::ConfigError);
    EXPECT_EQ(noTok.turns(), 1);
}

}  // namespace

// Generation over the model's vocabulary when its tokenizer is smaller (issue 14, item 1):
// greedy decoding must follow the reference (argmax over vocab_size logits) in the
// mamba-tiny-hf fixture, and ids without text show as visible placeholders, said once.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "command_run.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/vocabulary.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"

using mts::test::joinIds;

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

struct Reference {
    std::vector<int32_t> prompt;
    std::vector<int32_t> continuation;
};

Reference readReference(const fs::path& dir) {
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
    Reference r;
    r.prompt = expected.at("greedy_prompt").get<std::vector<int32_t>>();
    const auto full = expected.at("greedy_output").get<std::vector<int32_t>>();
    r.continuation.assign(full.begin() + static_cast<std::ptrdiff_t>(r.prompt.size()), full.end());
    return r;
}

// The fixture's model (vocab_size 256) with a 5-id word-level tokenizer beside it.
fs::path fixtureWithSmallTokenizer(const fs::path& fixture, const TempDir& tmp) {
    const fs::path out = tmp / "model";
    fs::create_directories(out);
    fs::copy_file(fixture / "config.json", out / "config.json");
    fs::copy_file(fixture / "model.safetensors", out / "model.safetensors");
    mts::WordLevelConfig wc;
    wc.minCount = 1;
    mts::WordLevelTrainer trainer(wc);
    trainer.addText("alpha beta gamma alpha beta alpha");
    trainer.train()->save(out / "tokenizer.json");
    return out;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

TEST(GenerationVocabulary, GreedyFollowsTheReferenceWhenTheTokenizerIsSmaller) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const Reference ref = readReference(dir);
    TempDir tmp;
    mts::LoadedModel loaded = mts::loadModel(fixtureWithSmallTokenizer(dir, tmp));
    ASSERT_EQ(loaded.tokenizer->vocabSize(), 5);
    ASSERT_EQ(loaded.model->config().vocabSize, 256);

    mts::GenerateRequest req;
    req.promptIds = ref.prompt;
    req.options.temperature = 0.0;
    req.options.maxNewTokens = static_cast<int64_t>(ref.continuation.size());
    std::string streamed;
    auto r = mts::generate(*loaded.model, loaded.tokenizer.get(), req, [&](int32_t, const std::string& t) {
        streamed += t;
        return true;
    });
    EXPECT_EQ(r.ids, ref.continuation);  // the argmax over all 256 ids, not the tokenizer's 5
    EXPECT_EQ(r.undecodableIds, static_cast<int64_t>(ref.continuation.size()));
    std::string shown;
    for (int32_t id : ref.continuation) shown += mts::undecodableIdText(id);
    EXPECT_EQ(r.text, shown);
    EXPECT_EQ(streamed, shown);
    const auto note = mts::vocabularyNote(loaded.model->config(), loaded.tokenizer.get());
    ASSERT_TRUE(note.has_value());
    EXPECT_NE(note->find("256"), std::string::npos) << *note;
    EXPECT_NE(note->find("<|id 5|>"), std::string::npos) << *note;
}

TEST(GenerationVocabulary, DisplayHelpersKeepDecodableTextAndMarkTheRest) {
    auto byte = mts::makeByteTokenizer();
    EXPECT_EQ(mts::undecodableIdText(300), "<|id 300|>");
    EXPECT_EQ(mts::decodeForDisplay(*byte, {104, 105, 300, 33, -1}), "hi<|id 300|>!<|id -1|>");
    EXPECT_EQ(mts::displayTokenBytes(*byte, 65), "A");
    EXPECT_EQ(mts::displayTokenBytes(*byte, 257), "<|id 257|>");
    mts::ModelConfig c;
    c.vocabSize = 257;
    EXPECT_FALSE(mts::vocabularyNote(c, byte.get()).has_value());  // every id has text
    EXPECT_FALSE(mts::vocabularyNote(c, nullptr).has_value());
    c.vocabSize = 300;
    EXPECT_TRUE(mts::vocabularyNote(c, byte.get()).has_value());
}

TEST(GenerationVocabulary, CliPrintsTheReferenceIdsAndSaysOnceWhatThePlaceholdersAre) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const Reference ref = readReference(dir);
    TempDir tmp;
    const fs::path model = fixtureWithSmallTokenizer(dir, tmp);
    const std::string base = mts::test::shellQuoted(mts::test::cliPath()) + " generate --model " +
                             mts::test::shellQuoted(model.string()) + " --prompt-ids " + joinIds(ref.prompt) +
                             " --temperature 0 --max-new-tokens " + std::to_string(ref.continuation.size());

    const auto ids = mts::test::runCommand(base + " --print-ids 2>/dev/null");
    ASSERT_EQ(ids.exitCode, 0);
    EXPECT_EQ(ids.out, joinIds(ref.continuation) + "\n");

    const auto text = mts::test::runCommand(base + " --no-echo 2>/dev/null");
    ASSERT_EQ(text.exitCode, 0);
    EXPECT_NE(text.out.find(mts::undecodableIdText(ref.continuation[0])), std::string::npos) << text.out;

    const auto log = mts::test::runCommand(base + " --no-echo 2>&1 >/dev/null");
    ASSERT_EQ(log.exitCode, 0);
    EXPECT_EQ(count(log.out, "shown as <|id 5|>"), 1u) << log.out;
}

}  // namespace

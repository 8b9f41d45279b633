// BPE and word-level training: determinism, save/load identity, merge order, sampling.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace {

std::unique_ptr<mts::Tokenizer> trainOn(const std::string& text, int64_t vocab, int threads) {
    mts::BpeTrainerConfig cfg;
    cfg.vocabSize = vocab;
    cfg.threads = threads;
    mts::BpeTrainer trainer(cfg);
    trainer.addText(text);
    return trainer.train().tokenizer;
}

}  // namespace

TEST(BpeTrainer, FirstMergeIsTheMostFrequentPair) {
    mts::test::TempDir dir;
    // "ab" occurs 4 times (once alone, 3 times after a space), "Ġa" only 3 times.
    const auto tok = trainOn("ab ab ab ab", 258, 1);
    ASSERT_EQ(tok->vocabSize(), 258);
    EXPECT_EQ(tok->tokenBytes(257), "ab");
    EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{257}));
    EXPECT_EQ(tok->encode("<|endoftext|>"), (std::vector<int32_t>{256}));
    EXPECT_EQ(tok->eosId(), 256);
    tok->save(dir / "tokenizer.json");
    const auto doc = nlohmann::json::parse(readFile(dir / "tokenizer.json"));
    EXPECT_EQ(doc["model"]["type"], "BPE");
    EXPECT_EQ(doc["model"]["merges"][0], "a b");
    EXPECT_EQ(doc["pre_tokenizer"]["type"], "ByteLevel");
}

TEST(BpeTrainer, TiesAreBrokenBySmallestPair) {
    // "xy" and "ab" both occur twice: (a, b) has the smaller ids, so it merges first.
    const auto tok = trainOn("xy\nab\nxy\nab\n", 258, 1);
    EXPECT_EQ(tok->tokenBytes(257), "ab");
}

TEST(BpeTrainer, TrainedTokenizerSavesAndLoadsBackIdentically) {
    MTS_REQUIRE_SHARED(file, "data/tinyshakespeare/input.txt");
    const std::string text = readFile(file).substr(0, 200000);
    mts::BpeTrainerConfig cfg;
    cfg.vocabSize = 600;
    cfg.threads = 2;
    mts::BpeTrainer trainer(cfg);
    trainer.addText(text);
    const auto result = trainer.train();
    ASSERT_FALSE(result.cancelled);
    EXPECT_EQ(result.tokenizer->vocabSize(), 600);
    EXPECT_EQ(result.bytesCounted, text.size());

    mts::test::TempDir dir;
    result.tokenizer->save(dir / "tokenizer.json");
    const auto back = mts::loadTokenizer(dir / "tokenizer.json");
    EXPECT_EQ(back->kind(), "bpe");
    ASSERT_EQ(back->vocabSize(), result.tokenizer->vocabSize());
    for (int32_t id = 0; id < back->vocabSize(); ++id) EXPECT_EQ(back->tokenBytes(id), result.tokenizer->tokenBytes(id));
    const std::string sample = text.substr(100000, 5000) + "<|endoftext|>caf\xC3\xA9 \xF0\x9F\x98\x80";
    const auto ids = result.tokenizer->encode(sample);
    EXPECT_EQ(back->encode(sample), ids);
    EXPECT_EQ(back->decode(ids), sample);
    EXPECT_LT(ids.size(), sample.size() / 2);  // it actually compresses English
    // Saving the loaded one gives the same file.
    back->save(dir / "again.json");
    EXPECT_EQ(readFile(dir / "again.json"), readFile(dir / "tokenizer.json"));
}

TEST(BpeTrainer, DeterministicAcrossThreadCounts) {
    MTS_REQUIRE_SHARED(file, "data/tinyshakespeare/input.txt");
    const std::string text = readFile(file).substr(0, 600000);  // several parallel chunks
    mts::test::TempDir dir;
    trainOn(text, 400, 1)->save(dir / "one.json");
    trainOn(text, 400, 4)->save(dir / "four.json");
    EXPECT_EQ(readFile(dir / "one.json"), readFile(dir / "four.json"));
}

TEST(BpeTrainer, SamplesLargeCorporaAndCancels) {
    mts::BpeTrainerConfig cfg;
    cfg.vocabSize = 300;
    cfg.sampleBytes = 1000;
    mts::BpeTrainer trainer(cfg);
    for (int i = 0; i < 200; ++i) trainer.addText("document number " + std::to_string(i) + " with some words\n");
    const auto r = trainer.train();
    EXPECT_LE(r.bytesCounted, 1300u);
    EXPECT_GT(r.bytesCounted, 0u);

    std::atomic<bool> cancel{true};
    cfg.cancel = &cancel;
    mts::BpeTrainer cancelled(cfg);
    cancelled.addText("some text some text");
    EXPECT_TRUE(cancelled.train().cancelled);
    cfg.vocabSize = 100;
    EXPECT_THROW(mts::BpeTrainer(cfg).train(), mts::ConfigError);
}

TEST(WordLevelTrainer, BuildsVocabularyWithUnknownWords) {
    mts::WordLevelConfig cfg;
    cfg.minCount = 2;
    cfg.maxVocab = 4;  // <unk>, <|endoftext|> and the two most frequent words
    mts::WordLevelTrainer trainer(cfg);
    trainer.addText("the cat the dog the cat bird");
    const auto tok = trainer.train();
    EXPECT_EQ(tok->kind(), "word");
    EXPECT_EQ(tok->vocabSize(), 4);
    EXPECT_EQ(tok->encode("the cat\nbird dog <|endoftext|>"), (std::vector<int32_t>{2, 3, 0, 0, 1}));
    EXPECT_EQ(tok->decode({2, 3, 0}), "the cat <unk>");
    mts::test::TempDir dir;
    tok->save(dir / "tokenizer.json");
    const auto back = mts::loadTokenizer(dir / "tokenizer.json");
    EXPECT_EQ(back->kind(), "word");
    EXPECT_EQ(back->encode("the cat\nbird dog <|endoftext|>"), tok->encode("the cat\nbird dog <|endoftext|>"));
    EXPECT_EQ(back->eosId(), 1);
}

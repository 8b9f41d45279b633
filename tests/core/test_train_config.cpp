// TrainConfig JSON, --set overrides, the LR schedule and the data loader's batches.
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/lr_schedule.h"
#include "mts/core/train/train_config.h"
#include "aggregate_fields.h"
#include "config_mutations.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

TEST(TrainConfig, JsonRoundTripKeepsEveryField) {
    TrainConfig c;
    c.data = "/tmp/x";
    c.seqLen = 77;
    c.optimizer = OptimizerKind::Muon;
    c.precision = Precision::Bf16;
    c.samplePrompts = {"ROMEO:", "JULIET:"};
    c.debugNanSteps = {3, 4};
    c.model.dModel = 96;
    c.model.arch = Architecture::Transformer;
    c.seed = 99;
    c.stopAtLoss = 1.25;
    auto j = c.toJson();
    TrainConfig back = TrainConfig::fromJson(j);
    EXPECT_EQ(back.toJson(), j);
    EXPECT_EQ(back.seqLen, 77);
    EXPECT_EQ(back.optimizer, OptimizerKind::Muon);
    EXPECT_EQ(back.model.dModel, 96);
    EXPECT_EQ(back.samplePrompts.size(), 2u);
}

// The field lists behind toJson()/fromJson() name every member of the structs: a member added
// to TrainConfig or ModelConfig and not to its list changes the member count, not the key count.
TEST(TrainConfig, EveryStructMemberHasAJsonKey) {
    EXPECT_EQ(test::aggregateFieldCount<TrainConfig>(), TrainConfig{}.toJson().size())
        << "a TrainConfig member is missing from visitFields() in train_config.cpp (or a key has no member)";
    EXPECT_EQ(test::aggregateFieldCount<ModelConfig>(), ModelConfig{}.toJson().size())
        << "a ModelConfig member is missing from fields() in model_config.cpp (or a key has no member)";
}

// Every key, changed alone, survives JSON -> struct -> JSON (the reading and writing halves agree).
TEST(TrainConfig, EveryFieldRoundTripsThroughTheStruct) {
    const nlohmann::json defaults = TrainConfig{}.toJson();
    const auto mutations = test::configMutations(defaults);
    EXPECT_EQ(mutations.size(), defaults.size() - 1 + defaults["model"].size());
    for (const auto& [key, changed] : mutations) {
        ASSERT_NE(changed, defaults) << key;
        EXPECT_EQ(TrainConfig::fromJson(changed).toJson(), changed) << key;
    }
}

TEST(TrainConfig, RejectsUnknownKeysAndWrongTypes) {
    auto j = TrainConfig{}.toJson();
    j["sequence_length"] = 5;
    EXPECT_THROW(TrainConfig::fromJson(j), ConfigError);
    auto k = TrainConfig{}.toJson();
    k["seq_len"] = "long";
    try {
        TrainConfig::fromJson(k);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("seq_len"), std::string::npos);
    }
    auto p = TrainConfig{}.toJson();
    p["precision"] = "fp8";
    EXPECT_THROW(TrainConfig::fromJson(p), ConfigError);
}

TEST(TrainConfig, SetAppliesNestedAndTypedValues) {
    TrainConfig c;
    c.set("lr=3e-4");
    c.set("optimizer=muon");
    c.set("model.d_model=192");
    c.set("sample_prompts=[\"a\",\"b\"]");
    c.set("data=123");
    EXPECT_DOUBLE_EQ(c.lr, 3e-4);
    EXPECT_EQ(c.optimizer, OptimizerKind::Muon);
    EXPECT_EQ(c.model.dModel, 192);
    EXPECT_EQ(c.samplePrompts, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.data, "123");
    EXPECT_THROW(c.set("no_such_key=1"), ConfigError);
    EXPECT_THROW(c.set("model.no_such=1"), ConfigError);
    EXPECT_THROW(c.set("lr"), ConfigError);
}

TEST(TrainConfig, ValidateNamesTheBadKey) {
    TrainConfig c;
    c.data = "x";
    c.validate();
    c.microBatch = 0;
    try {
        c.validate();
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("micro_batch"), std::string::npos);
    }
    TrainConfig d;
    d.data = "x";
    d.maxSteps = 0;
    EXPECT_THROW(d.validate(), ConfigError);  // unlimited steps need a time limit
    d.maxMinutes = 1;
    EXPECT_NO_THROW(d.validate());
    d.textTokenizer = "bpe:1024";
    EXPECT_NO_THROW(d.validate());
    for (const char* bad : {"bpe:12", "bpe:", ""}) {
        d.textTokenizer = bad;
        try {
            d.validate();
            ADD_FAILURE() << bad << " was accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("text_tokenizer"), std::string::npos) << e.what();
        }
    }
}

TEST(LrSchedule, WarmupThenCosineToTheFloor) {
    LrSchedule s{10, 110, 0.1};
    EXPECT_DOUBLE_EQ(s.factor(0), 0.1);    // (0 + 1) / 10
    EXPECT_DOUBLE_EQ(s.factor(4), 0.5);
    EXPECT_DOUBLE_EQ(s.factor(9), 1.0);
    EXPECT_DOUBLE_EQ(s.factor(10), 1.0);   // cosine starts at the peak
    EXPECT_NEAR(s.factor(60), 0.1 + 0.9 * 0.5, 1e-12);  // half way: cos(pi/2) = 0
    EXPECT_NEAR(s.factor(35), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
    EXPECT_NEAR(s.factor(110), 0.1, 1e-12);
    EXPECT_NEAR(s.factor(500), 0.1, 1e-12);  // clamped after the end
    for (int i = 11; i < 110; ++i) EXPECT_LE(s.factor(i), s.factor(i - 1));
    EXPECT_NEAR(s.factorAtProgress(50, 0.5), 0.55, 1e-12);
}

TEST(DataLoader, BatchesDependOnlyOnSeedStepAndRow) {
    test::TempDir dir;
    auto data = openTrainData(test::writeTinyCorpus(dir.path()), 0.1, 16);
    auto a = trainBatch(data.train, 5, 3, 0, 4, 16);
    auto b = trainBatch(data.train, 5, 3, 0, 4, 16);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{4, 17}));
    // Two micro-batches of 2 rows hold the rows of one batch of 4.
    auto m0 = trainBatch(data.train, 5, 3, 0, 2, 16);
    auto m1 = trainBatch(data.train, 5, 3, 2, 2, 16);
    EXPECT_TRUE(torch::equal(torch::cat({m0, m1}), a));
    EXPECT_FALSE(torch::equal(trainBatch(data.train, 5, 4, 0, 4, 16), a));
    EXPECT_FALSE(torch::equal(trainBatch(data.train, 6, 3, 0, 4, 16), a));
    // Windows are contiguous text: decoding a row gives a substring of the corpus.
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < 17; ++i) ids.push_back(static_cast<int32_t>(a[0][i].item<int64_t>()));
    std::ifstream in(dir / "tiny.txt");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find(data.tokenizer->decode(ids)), std::string::npos);
}

TEST(DataLoader, TextSplitsValidationOffTheEnd) {
    test::TempDir dir;
    auto path = test::writeTinyCorpus(dir.path(), 2000);
    auto data = openTrainData(path, 0.1, 16);
    // The text goes through the corpus builder: one document, ended by the end-of-document id
    // like every document of a corpus; validation is the last floor(0.1 x 2001) tokens.
    EXPECT_EQ(data.train.size() + data.val.size(), 2001u);
    EXPECT_EQ(data.val.size(), 200u);
    EXPECT_EQ(data.tokenizer->kind(), "byte");
    EXPECT_NEAR(data.bytesPerToken, 199.0 / 200.0, 1e-9);  // the end id stands for no text
    std::vector<int64_t> last(1);
    data.val.read(199, 1, last.data());
    EXPECT_EQ(last[0], *data.tokenizer->eosId());
    // Evaluation batches are the same each time and stay inside the split.
    auto e1 = evalBatch(data.val, 1, 3, 2, 16);
    EXPECT_TRUE(torch::equal(e1, evalBatch(data.val, 1, 3, 2, 16)));
}

TEST(DataLoader, FolderOfTextAndErrors) {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "docs" / "sub");
    test::writeTinyCorpus(dir / "docs", 1500, "a.txt");
    test::writeTinyCorpus(dir / "docs" / "sub", 1500, "b.txt");
    std::ofstream(dir / "docs" / "ignored.bin") << "xx";
    auto data = openTrainData(dir / "docs", 0.1, 16);
    EXPECT_EQ(data.train.size() + data.val.size(), 3002u);  // + an end-of-document id after each file
    EXPECT_THROW(openTrainData(dir / "missing.txt", 0.1, 16), ConfigError);
    std::ofstream(dir / "short.txt") << "too short";
    EXPECT_THROW(openTrainData(dir / "short.txt", 0.1, 16), ConfigError);
    std::filesystem::create_directories(dir / "empty");
    EXPECT_THROW(openTrainData(dir / "empty", 0.1, 16), ConfigError);
}

}  // namespace
}  // namespace mts

// The small-data recipe: how "small" is decided, and that the small-data preset carries the
// regularisation (dropout for every architecture, weight decay) through composeConfig.
#include <gtest/gtest.h>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/small_data.h"
#include "shared_data.h"

namespace mts {
namespace {

TEST(SmallData, AThresholdOnTrainingTokensDecides) {
    EXPECT_TRUE(isSmallCorpus(0));
    EXPECT_TRUE(isSmallCorpus(kSmallDataTokens - 1));
    EXPECT_FALSE(isSmallCorpus(kSmallDataTokens));
    EXPECT_FALSE(isSmallCorpus(-1));  // unknown size: not small
    EXPECT_EQ(trainingPresetForCorpus(1'000'000), "small-data");
    EXPECT_EQ(trainingPresetForCorpus(50'000'000), "default");
    EXPECT_EQ(trainingPresetForCorpus(50'000'000, "fast"), "fast");
    EXPECT_DOUBLE_EQ(plannedEpochs(3'000'000, 1'000'000), 3.0);
    EXPECT_DOUBLE_EQ(plannedEpochs(10, 0), 0.0);
}

TEST(SmallData, TinyShakespeareIsSmall) {
    MTS_REQUIRE_SHARED(path, "data/tinyshakespeare/input.txt");
    const TrainData data = openTrainData(path, 0.1, 256, nullptr);
    EXPECT_TRUE(isSmallCorpus(static_cast<int64_t>(data.train.size()))) << data.description;
    EXPECT_EQ(trainingPresetForCorpus(static_cast<int64_t>(data.train.size())), "small-data");
}

TEST(SmallData, ASmallCorpusGetsTheCompactSize) {
    EXPECT_EQ(modelPresetForCorpus(1'000'000, "mini"), "compact");
    EXPECT_EQ(modelPresetForCorpus(kSmallDataTokens, "mini"), "mini");
    EXPECT_EQ(modelPresetForCorpus(-1, "mini"), "mini");
    // The size exists for every architecture the studio offers, at the recipe's ~1.8M parameters.
    const PresetCatalog catalog = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    for (const std::string arch : {"mamba", "mamba2", "transformer", "moe", "attention1", "linear"})
        EXPECT_NO_THROW(composeConfig(catalog, {arch, "compact", "cpu", "small-data"})) << arch;
    const TrainConfig mamba = composeConfig(catalog, {"mamba", "compact", "cpu", "small-data"});
    EXPECT_EQ(mamba.model.dModel, 256);
    EXPECT_EQ(mamba.model.nLayer, 4);
    EXPECT_EQ(mamba.microBatch * mamba.gradAccum, 8);  // batch_sequences
}

TEST(SmallData, ThePresetRegularisesEveryArchitecture) {
    const PresetCatalog catalog = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    for (const std::string arch : {"mamba", "transformer", "moe"}) {
        const TrainConfig small = composeConfig(catalog, {arch, "tiny", "cpu", "small-data"});
        EXPECT_GT(small.model.dropout, 0.0) << arch;
        EXPECT_GT(small.weightDecay, 0.0) << arch;
        EXPECT_GT(small.earlyStoppingPatience, 0) << arch;
        EXPECT_EQ(toString(small.model.arch), arch);
        // The size preset still decides the shape.
        const TrainConfig usual = composeConfig(catalog, {arch, "tiny", "cpu", "default"});
        EXPECT_EQ(small.model.dModel, usual.model.dModel) << arch;
        EXPECT_EQ(usual.model.dropout, 0.0) << arch;
    }
}

}  // namespace
}  // namespace mts

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/model/model_config.h"
#include "mts/core/runtime/errors.h"

namespace {

TEST(ModelConfig, ArchitectureNamesRoundTrip) {
    for (auto a : {mts::Architecture::Mamba, mts::Architecture::Transformer, mts::Architecture::Attention1,
                   mts::Architecture::Linear})
        EXPECT_EQ(mts::architectureFromString(mts::toString(a)), a);
    EXPECT_THROW(mts::architectureFromString("rwkv"), mts::ConfigError);
}

TEST(ModelConfig, JsonRoundTripKeepsEveryField) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Transformer;
    c.dModel = 96;
    c.nLayer = 3;
    c.vocabSize = 1001;
    c.padVocabMultiple = 16;
    c.normEps = 1e-6;
    c.tieEmbeddings = false;
    c.dState = 8;
    c.dConv = 3;
    c.expand = 3;
    c.dtRank = 5;
    c.convBias = false;
    c.projBias = true;
    c.dtMin = 2e-3;
    c.dtMax = 0.2;
    c.residualGate = true;
    c.blockLayerNorm = true;
    c.dropout = 0.1;
    c.gelu = true;
    c.nHead = 6;
    c.mlpRatio = 2;
    c.maxSeqLen = 512;
    c.positions = "rope";
    c.ropeTheta = 500.0;
    c.context = 64;
    const nlohmann::json j = c.toJson();
    EXPECT_EQ(j.at("arch"), "transformer");
    EXPECT_EQ(j.at("d_model"), 96);
    const mts::ModelConfig back = mts::ModelConfig::fromJson(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(back.toJson(), j);
    EXPECT_EQ(back.paddedVocab(), 1008);
    EXPECT_EQ(back.positions, "rope");
    EXPECT_TRUE(back.gelu);
}

TEST(ModelConfig, MissingKeysKeepDefaults) {
    const auto c = mts::ModelConfig::fromJson(nlohmann::json{{"d_model", 32}});
    EXPECT_EQ(c.dModel, 32);
    EXPECT_EQ(c.nLayer, mts::ModelConfig{}.nLayer);
    EXPECT_EQ(c.resolvedDtRank(), 2);  // ceil(32 / 16)
    EXPECT_EQ(c.dInner(), 64);
}

TEST(ModelConfig, RejectsUnknownKeysAndWrongTypes) {
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"d_modle", 32}}), mts::ConfigError);
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"d_model", "32"}}), mts::ConfigError);
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"d_model", 32.5}}), mts::ConfigError);
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"gelu", 1}}), mts::ConfigError);
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"arch", "lstm"}}), mts::ConfigError);
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json::array()), mts::ConfigError);
    try {
        mts::ModelConfig::fromJson(nlohmann::json{{"n_layer", "x"}});
        FAIL() << "expected ConfigError";
    } catch (const mts::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("n_layer"), std::string::npos) << e.what();
    }
}

TEST(ModelConfig, ValidateRejectsInconsistentValuesNamingTheKey) {
    auto expectBad = [](mts::ModelConfig c, const std::string& key) {
        try {
            c.validate();
            ADD_FAILURE() << "expected ConfigError for " << key;
        } catch (const mts::ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    mts::ModelConfig ok;
    EXPECT_NO_THROW(ok.validate());
    auto c = ok;
    c.dModel = 0;
    expectBad(c, "d_model");
    c = ok;
    c.nLayer = -1;
    expectBad(c, "n_layer");
    c = ok;
    c.dtMin = 0.5;
    expectBad(c, "dt_min");
    c = ok;
    c.dropout = 1.0;
    expectBad(c, "dropout");
    c = ok;
    c.arch = mts::Architecture::Transformer;
    c.nHead = 3;  // 256 % 3 != 0
    expectBad(c, "n_head");
    c = ok;
    c.arch = mts::Architecture::Transformer;
    c.positions = "alibi";
    expectBad(c, "positions");
    c = ok;
    c.arch = mts::Architecture::Linear;
    c.context = 0;
    expectBad(c, "context");
    c = ok;
    c.dState = 0;
    expectBad(c, "d_state");
    // fromJson validates too.
    EXPECT_THROW(mts::ModelConfig::fromJson(nlohmann::json{{"dt_min", 1.0}, {"dt_max", 0.1}}), mts::ConfigError);
}

}  // namespace

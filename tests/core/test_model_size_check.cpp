// A model folder's config.json is checked before the model is allocated: the parameter count it
// implies must match the weight files and fit in memory; sizes that overflow are refused
// (issue 13, item 4).
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "mts/core/train/memory_estimate.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readJson;
using mts::test::writeJson;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mts::test::TempDir;

mts::ModelConfig tiny() {
    mts::ModelConfig c;
    c.dModel = 16;
    c.nLayer = 2;
    c.dState = 4;
    c.vocabSize = 257;
    return c;
}

// The FormatError message of loadModel(dir), or "" when it loads.
std::string loadError(const fs::path& dir) {
    try {
        mts::loadModel(dir);
    } catch (const mts::FormatError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST(ModelSizeCheck, CheckedCountMatchesTheBuiltModelAndRefusesOverflow) {
    for (auto arch : {mts::Architecture::Mamba, mts::Architecture::Transformer, mts::Architecture::Attention1,
                      mts::Architecture::Linear}) {
        mts::ModelConfig c = tiny();
        c.arch = arch;
        c.context = 4;
        c.maxSeqLen = 32;
        c.nHead = 2;
        ASSERT_TRUE(mts::checkedParameterCount(c).has_value());
        EXPECT_EQ(*mts::checkedParameterCount(c), mts::createModel(c)->numParameters()) << mts::toString(arch);
    }
    mts::ModelConfig big = tiny();
    big.dModel = int64_t(1) << 24;
    big.expand = int64_t(1) << 24;  // expand * d_model = 2^48; x d_model = 2^72: overflows
    EXPECT_FALSE(mts::checkedParameterCount(big).has_value());
    EXPECT_THROW(big.validate(), mts::ConfigError);
    EXPECT_THROW(mts::countParameters(big), mts::ConfigError);
    big = tiny();
    big.expand = std::numeric_limits<int64_t>::max() / 2;
    EXPECT_FALSE(mts::checkedParameterCount(big).has_value());
    big = tiny();
    big.vocabSize = std::numeric_limits<int64_t>::max() - 1;  // padding up to a multiple of 8 overflows
    EXPECT_FALSE(mts::checkedParameterCount(big).has_value());
}

TEST(ModelSizeCheck, ATinyConfigWithHugeSizesIsRefusedBeforeAllocation) {
    TempDir dir;
    auto model = mts::createModel(tiny());
    auto tok = mts::makeByteTokenizer();
    mts::saveModel(dir / "m", *model, tok.get());
    ASSERT_EQ(loadError(dir / "m"), "");
    json cfg = readJson(dir / "m" / "config.json");
    // Hundreds of GB implied by a few bytes of config.json (this would be allocated, or crash,
    // before the check existed).
    cfg["mts_config"]["d_model"] = 1 << 20;
    cfg["mts_config"]["n_layer"] = 64;
    cfg["hidden_size"] = 1 << 20;
    cfg["num_hidden_layers"] = 64;
    writeJson(dir / "m" / "config.json", cfg);
    std::string msg = loadError(dir / "m");
    EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("describes a model of"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hold only"), std::string::npos) << msg;
    // expand x d_model overflowing int64.
    cfg["mts_config"]["d_model"] = 1 << 24;
    cfg["mts_config"]["expand"] = 1 << 24;
    cfg["hidden_size"] = 1 << 24;
    cfg["intermediate_size"] = int64_t(1) << 48;
    writeJson(dir / "m" / "config.json", cfg);
    msg = loadError(dir / "m");
    EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2^63"), std::string::npos) << msg;
}

TEST(ModelSizeCheck, PhysicalMemoryIsKnownHere) {
    // The memory half of the check needs it (Linux always reports it).
    EXPECT_GT(mts::physicalMemoryBytes(), int64_t(1) << 28);
}

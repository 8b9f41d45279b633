// Outside JSON is refused beyond a nesting depth of 64, before any recursive code sees it, by
// every reader in core (issue 13, item 5).
#include <filesystem>
#include <fstream>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "mts/core/corpus/corpus.h"
#include "mts/core/corpus/corpus_info.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "mts/core/train/checkpoint.h"
#include "runtime/json_file.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

// {"a": [[[ ... [1] ... ]]]}: an object holding arrays, `depth` levels in all.
std::string nested(int depth) {
    std::string s = "{\"a\": ";
    for (int i = 1; i < depth; ++i) s += '[';
    s += '1';
    for (int i = 1; i < depth; ++i) s += ']';
    return s + "}";
}

// `read` must throw a FormatError naming `file` and saying the nesting was refused.
void expectDepthRefused(const fs::path& file, const std::function<void()>& read) {
    try {
        read();
        FAIL() << file << ": a document nested 200 deep was accepted";
    } catch (const mts::FormatError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(file.filename().string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("deeper than 64"), std::string::npos) << msg;
    }
}

}  // namespace

TEST(JsonDepth, ScannerCountsBracketsOutsideStringsOnly) {
    using mts::detail::jsonNestingDepth;
    EXPECT_EQ(jsonNestingDepth("1"), 0);
    EXPECT_EQ(jsonNestingDepth("[[1],{\"a\":[2]}]"), 3);
    EXPECT_EQ(jsonNestingDepth("{\"[[[[\": \"]]\\\"[[[\"}"), 1);  // brackets and an escaped quote in strings
    EXPECT_EQ(jsonNestingDepth(nested(64)), 64);
    EXPECT_EQ(jsonNestingDepth(nested(65)), 65);
    EXPECT_EQ(jsonNestingDepth(std::string(1000000, '['), 64), 65);  // stops at the limit
}

TEST(JsonDepth, SixtyFourLevelsParseSixtyFiveAreRefused) {
    EXPECT_NO_THROW(mts::detail::parseJsonText(nested(64), "x.json", "the test file"));
    EXPECT_THROW(mts::detail::parseJsonText(nested(65), "x.json", "the test file"), mts::FormatError);
    EXPECT_TRUE(mts::detail::tryParseJson(nested(64)).has_value());
    EXPECT_FALSE(mts::detail::tryParseJson(nested(65)).has_value());
    // A million open brackets: refused without recursing (no stack overflow).
    EXPECT_FALSE(mts::detail::tryParseJson(std::string(1000000, '[')).has_value());
}

TEST(JsonDepth, EveryCoreReaderRefusesDeepNesting) {
    TempDir dir;
    const std::string deep = nested(200);

    const fs::path config = dir / "config.json";
    writeFile(config, deep);
    expectDepthRefused(config, [&] { mts::readCheckpointConfig(config); });

    const fs::path tokenizer = dir / "tokenizer.json";
    writeFile(tokenizer, deep);
    expectDepthRefused(tokenizer, [&] { mts::loadTokenizer(tokenizer); });

    fs::create_directories(dir / "gpt2");
    const fs::path vocab = dir / "gpt2" / "vocab.json";
    writeFile(vocab, deep);
    writeFile(dir / "gpt2" / "merges.txt", "#version: 0.2\n");
    expectDepthRefused(vocab, [&] { mts::loadTokenizer(dir / "gpt2"); });

    fs::create_directories(dir / "corpus");
    const fs::path manifest = dir / "corpus" / "manifest.json";
    writeFile(manifest, deep);
    expectDepthRefused(manifest, [&] { mts::openCorpus(dir / "corpus"); });
    expectDepthRefused(manifest, [&] { mts::readCorpusInfo(dir / "corpus"); });

    fs::create_directories(dir / "ckpt");
    const fs::path state = dir / "ckpt" / "trainer_state.json";
    writeFile(state, deep);
    expectDepthRefused(state, [&] { mts::readCheckpoint(dir / "ckpt"); });

    // A safetensors header is JSON too.
    std::string header = deep;
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    bytes += header;
    const fs::path st = dir / "model.safetensors";
    writeFile(st, bytes);
    expectDepthRefused(st, [&] { mts::readSafetensors(st); });
}

// Numbers from outside are converted only when the target type holds them (nlohmann's get<T>()
// casts a float out of range, which is undefined; fuzz_trainer_state found "data_seed": 1.2e68).
TEST(JsonInteger, ConvertsOnlyWhatTheTypeHolds) {
    using nlohmann::json;
    EXPECT_EQ(mts::detail::jsonInteger<int64_t>(json(42)), 42);
    EXPECT_EQ(mts::detail::jsonInteger<int64_t>(json(3.0)), 3);
    EXPECT_EQ(mts::detail::jsonInteger<int64_t>(json(-7)), -7);
    EXPECT_EQ(mts::detail::jsonInteger<uint64_t>(json(18446744073709551615ull)), 18446744073709551615ull);
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(18446744073709551615ull)));
    EXPECT_FALSE(mts::detail::jsonInteger<uint64_t>(json(-1)));
    EXPECT_FALSE(mts::detail::jsonInteger<int>(json(int64_t(1) << 40)));
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(1.21111e68)));
    EXPECT_FALSE(mts::detail::jsonInteger<uint64_t>(json(18446744073709551616.0)));  // 2^64
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(9223372036854775808.0)));    // 2^63
    EXPECT_EQ(mts::detail::jsonInteger<int64_t>(json(-9223372036854775808.0)), std::numeric_limits<int64_t>::min());
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(2.5)));
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(std::nan(""))));
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json("12")));
    EXPECT_FALSE(mts::detail::jsonInteger<int64_t>(json(true)));
}

TEST(JsonInteger, TrainerStateAndTrainConfigRefuseHugeNumbers) {
    const fs::path seed = mts::test::sourceDir() / "tests/fuzz/corpus/trainer_state/step2.json";
    std::ifstream in(seed);
    ASSERT_TRUE(in) << seed;
    nlohmann::json state = nlohmann::json::parse(in);
    state["data_seed"] = 1.21111e68;
    EXPECT_THROW(mts::parseTrainerStateJson(state.dump(), "trainer_state.json"), mts::FormatError);
    nlohmann::json config = state["train_config"];
    config["seq_len"] = 1e300;
    EXPECT_THROW(mts::TrainConfig::fromJson(config), mts::ConfigError);
    config = state["train_config"];
    config["seed"] = -1.0;
    EXPECT_THROW(mts::TrainConfig::fromJson(config), mts::ConfigError);
}

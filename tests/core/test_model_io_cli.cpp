// `mamba-studio-cli info` and `export` end to end: output on success, one clear stderr line and
// a non-zero exit on bad input.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace {

namespace fs = std::filesystem;

struct CliRun {
    int rc;
    std::string out, err;
};

CliRun runCli(const std::string& args, const mts::test::TempDir& tmp) {
    const fs::path cli = mts::test::cliPath();
    const std::string cmd = "'" + cli.string() + "' -q --threads 1 " + args + " > '" + (tmp / "out.txt").string() +
                            "' 2> '" + (tmp / "err.txt").string() + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, readFile(tmp / "out.txt"), readFile(tmp / "err.txt")};
}

#define MTS_REQUIRE_CLI()                                                                   \
    ASSERT_TRUE(fs::exists(mts::test::cliPath())) << "mamba-studio-cli not built: " << mts::test::cliPath()

}  // namespace

TEST(CliInfo, DescribesTheFixture) {
    MTS_REQUIRE_CLI();
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    auto r = runCli("info --model '" + dir.string() + "'", tmp);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto info = mts::inspectModel(dir);
    EXPECT_NE(r.out.find("architecture: mamba"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("layout:       hf"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(" + std::to_string(info.numParameters) + ")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dtype:        F32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verified:     ok"), std::string::npos) << r.out;

    r = runCli("info --json --model '" + dir.string() + "'", tmp);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["parameters"], info.numParameters);
    EXPECT_EQ(j["config"]["d_model"], 64);
}

TEST(CliInfo, BadInputGivesOneLineAndFails) {
    MTS_REQUIRE_CLI();
    mts::test::TempDir tmp;
    auto r = runCli("info --model '" + (tmp / "nope").string() + "'", tmp);
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no such file or folder"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    fs::create_directories(tmp / "m");
    std::ofstream(tmp / "m" / "config.json") << R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 8})";
    std::ofstream(tmp / "m" / "model.safetensors") << "\x10\x00\x00\x00\x00\x00\x00\x00{}";
    r = runCli("info --model '" + (tmp / "m").string() + "'", tmp);
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliExport, HuggingFaceAndGguf) {
    MTS_REQUIRE_CLI();
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    // The fixture has no tokenizer files and 256 embedding rows: the default byte tokenizer
    // (257 ids) does not fit, so export must refuse with a clear message...
    auto r = runCli("export --model '" + dir.string() + "' --format hf --out '" + (tmp / "hf").string() + "'", tmp);
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("tokenizer has 257 ids"), std::string::npos) << r.err;

    // ...while a studio model with a fitting tokenizer exports to both formats.
    mts::ModelConfig c;
    c.dModel = 16;
    c.nLayer = 1;
    c.dState = 4;
    c.vocabSize = 257;
    auto model = mts::createModel(c);
    auto tok = mts::makeByteTokenizer();
    mts::saveModel(tmp / "studio", *model, tok.get());
    r = runCli("export --model '" + (tmp / "studio").string() + "' --format hf --out '" + (tmp / "hf").string() + "'", tmp);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("model.safetensors"), std::string::npos);
    EXPECT_TRUE(fs::exists(tmp / "hf" / "config.json"));
    r = runCli("export --model '" + (tmp / "studio").string() + "' --format gguf --dtype f16 --out '" +
                   (tmp / "m.gguf").string() + "'",
               tmp);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto f = mts::gguf::readFile(tmp / "m.gguf");
    EXPECT_EQ(f.find("general.file_type")->u, 1u);
    r = runCli("export --model '" + (tmp / "studio").string() + "' --format onnx --out x", tmp);
    EXPECT_NE(r.rc, 0);
}

// `mamba-studio-cli tokenize --tokenizer` takes a run, checkpoint or model folder, as generate
// and export do, and uses that model's tokenizer (issue 14, item 6).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "command_run.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;
using mts::test::shellQuoted;

std::string tokenize(const std::string& input, const fs::path& tokenizer) {
    const auto r = mts::test::runCommand("printf '%s' " + shellQuoted(input) + " | " +
                                         shellQuoted(mts::test::cliPath()) + " tokenize --tokenizer " +
                                         shellQuoted(tokenizer.string()) + " 2>/dev/null");
    return r.exitCode == 0 ? r.out : "exit " + std::to_string(r.exitCode);
}

// A run folder as the trainer leaves it: checkpoints/step-N/{config.json, model.safetensors,
// tokenizer.json} with a word-level tokenizer (so its ids differ from the byte tokenizer's).
fs::path writeRun(const fs::path& root) {
    mts::WordLevelConfig wc;
    wc.minCount = 1;
    mts::WordLevelTrainer trainer(wc);
    trainer.addText("red green blue red green red");
    auto tok = trainer.train();
    mts::ModelConfig c;
    c.dModel = 16;
    c.nLayer = 1;
    c.vocabSize = tok->vocabSize();
    auto model = mts::createModel(c);
    const fs::path run = root / "run";
    mts::saveModel(run / "checkpoints" / "step-00000004", *model, tok.get());
    return run;
}

TEST(TokenizeModelCli, RunCheckpointAndModelFoldersGiveTheirModelsTokenizer) {
    mts::test::TempDir tmp;
    const fs::path run = writeRun(tmp.path());
    const fs::path checkpoint = run / "checkpoints" / "step-00000004";
    const std::string expected = tokenize("red blue green", checkpoint / "tokenizer.json");
    ASSERT_EQ(expected, "2,4,3\n");  // <unk>=0, <|endoftext|>=1, then by count
    EXPECT_EQ(tokenize("red blue green", checkpoint), expected);
    EXPECT_EQ(tokenize("red blue green", run), expected);
    EXPECT_EQ(tokenize("red blue green", checkpoint / "config.json"), expected);

    // A model folder with no tokenizer files: the byte tokenizer, as generate uses.
    fs::create_directories(tmp / "bare");
    fs::copy_file(checkpoint / "config.json", tmp / "bare" / "config.json");
    EXPECT_EQ(tokenize("hi", tmp / "bare"), "104,105\n");
}

TEST(TokenizeModelCli, AFolderThatIsNeitherSaysSo) {
    mts::test::TempDir tmp;
    fs::create_directories(tmp / "empty");
    EXPECT_NE(tokenize("x", tmp / "empty").rfind("exit ", 0), std::string::npos);
    try {
        mts::loadModelTokenizer(tmp / "empty");
        FAIL() << "expected a FormatError";
    } catch (const mts::FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("not a model, checkpoint or run folder"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find((tmp / "empty").string()), std::string::npos) << e.what();
    }
    const fs::path run = writeRun(tmp.path());
    fs::remove_all(run / "checkpoints" / "step-00000004");
    EXPECT_THROW(mts::loadModelTokenizer(run), mts::FormatError);  // a run without a checkpoint yet
}

}  // namespace

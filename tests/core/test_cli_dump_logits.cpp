// `generate --dump-logits FILE`: the prompt's logits as safetensors, the file
// scripts/check-hf-transformers.py compares with transformers' MambaForCausalLM on a GPU machine.
// Here against the Hugging Face dump of ../shared/fixtures/mamba-tiny-hf (same 1e-4 tolerance
// as ParityMambaHf).
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "command_run.h"
#include "mts/core/formats/safetensors.h"
#include "shared_data.h"

namespace {

using mts::test::runCommand;
using mts::test::shellQuoted;

TEST(CliDumpLogits, MatchesTheHuggingFaceLogitsOfTheFixture) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const auto expected = mts::readSafetensors(dir / "expected.safetensors").tensors;
    const torch::Tensor ids = expected.at("input_ids")[0].round().to(torch::kInt64);  // (37)
    const torch::Tensor hf = expected.at("logits")[0].to(torch::kFloat32);            // (37, 256)
    std::string list;
    for (int64_t i = 0; i < ids.size(0); ++i) list += (i ? "," : "") + std::to_string(ids[i].item<int64_t>());
    mts::test::TempDir tmp;
    const auto out = tmp.path() / "logits.safetensors";
    const auto r = runCommand(shellQuoted(mts::test::cliPath()) + " -q generate --model " + shellQuoted(dir.string()) +
                              " --prompt-ids " + list + " --dump-logits " + shellQuoted(out.string()) + " 2>&1");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const auto dump = mts::readSafetensors(out).tensors;
    EXPECT_TRUE(torch::equal(dump.at("input_ids")[0], ids));
    const torch::Tensor ours = dump.at("logits")[0];
    ASSERT_EQ(ours.size(0), ids.size(0));
    ASSERT_GE(ours.size(1), hf.size(1));
    EXPECT_LT((ours.narrow(1, 0, hf.size(1)) - hf).abs().max().item<double>(), 1e-4);
}

TEST(CliDumpLogits, RefusesAnIdOutsideTheVocabulary) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    const auto out = tmp.path() / "logits.safetensors";
    const auto r = runCommand(shellQuoted(mts::test::cliPath()) + " -q generate --model " + shellQuoted(dir.string()) +
                              " --prompt-ids 1,999999 --dump-logits " + shellQuoted(out.string()) + " 2>&1");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("not below the model's vocabulary"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace

// The memory estimator against the peak RSS of real CPU training runs (within 25%), and the
// memory gradient checkpointing saves, measured.
#include <array>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_train_support.h"
#include "command_run.h"
#include "shared_data.h"

namespace mts {
namespace {

// Runs the CLI and returns the JSON object it prints last on stdout.
nlohmann::json runCli(const std::string& args) {
    std::string cmd = std::string(mts::test::cliPath()) + " --threads 2 -q " + args + " 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    EXPECT_TRUE(pipe) << cmd;
    std::string out, last;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
    std::size_t start = out.rfind("\n{");
    last = out.substr(start == std::string::npos ? 0 : start + 1);
    auto j = nlohmann::json::parse(last, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << cmd << "\n" << out;
    return j;
}

struct Measured {
    double predicted, measured;
};

Measured measure(const test::TempDir& dir, const std::string& extra, const std::string& name,
                 const std::string& arch = "mamba") {
    const std::string common = "train --data " + (dir / "tiny.txt").string() + " --arch " + arch +
                               " --model-preset mini --memory-tier cpu --set seq_len=256"
                               " --set micro_batch=16 --set grad_accum=1 --set eval_every=0 --set sample_every=0"
                               " --set checkpoint_every=0 --set eval_batches=1 --max-steps 3 " +
                               extra;
    auto est = runCli(common + " --estimate-memory");
    auto run = runCli(common + " --runs-dir " + (dir / "runs").string() + " --name " + name);
    EXPECT_EQ(run.value("stop_reason", ""), "max_steps") << run.dump();
    return {est.value("peak_bytes", 0.0), run.value("peak_rss_bytes", 0.0)};
}

TEST(TrainMemory, EstimateMatchesMeasuredPeakRssWithin25Percent) {
    test::TempDir dir;
    test::writeTinyCorpus(dir.path(), 200000);
    auto full = measure(dir, "", "full");
    auto ckpt = measure(dir, "--set grad_checkpointing=true", "ckpt");
    std::printf("[memory] no checkpointing: predicted %.0f MB, measured %.0f MB\n", full.predicted / 1048576,
                full.measured / 1048576);
    std::printf("[memory] checkpointing:    predicted %.0f MB, measured %.0f MB (saves %.0f MB)\n",
                ckpt.predicted / 1048576, ckpt.measured / 1048576, (full.measured - ckpt.measured) / 1048576);
    EXPECT_NEAR(full.predicted / full.measured, 1.0, 0.25);
    EXPECT_NEAR(ckpt.predicted / ckpt.measured, 1.0, 0.25);
    EXPECT_LT(ckpt.measured, full.measured * 0.8);  // checkpointing saves a real share
}

// The Transformer's terms (attention scores, MLP activations, KV-free training) are separate
// from the Mamba's: the same check for the Transformer of the mini preset.
TEST(TrainMemory, TransformerEstimateMatchesMeasuredPeakRssWithin25Percent) {
    test::TempDir dir;
    test::writeTinyCorpus(dir.path(), 200000);
    auto full = measure(dir, "", "tfull", "transformer");
    auto ckpt = measure(dir, "--set grad_checkpointing=true", "tckpt", "transformer");
    std::printf("[memory] transformer: predicted %.0f MB, measured %.0f MB; checkpointing: predicted %.0f MB, "
                "measured %.0f MB\n",
                full.predicted / 1048576, full.measured / 1048576, ckpt.predicted / 1048576, ckpt.measured / 1048576);
    EXPECT_NEAR(full.predicted / full.measured, 1.0, 0.25);
    EXPECT_NEAR(ckpt.predicted / ckpt.measured, 1.0, 0.25);
    EXPECT_LT(ckpt.measured, full.measured);
}

}  // namespace
}  // namespace mts

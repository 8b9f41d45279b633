// Data parallel end to end: `mamba-studio-cli train --nproc 2` runs two real rank processes
// over Gloo on 127.0.0.1.
//
// Equivalence: 2 ranks x micro-batch B/2 against 1 rank x B, same seed. The two runs see the
// same rows each step (rank r takes global rows r*B/2 ..), and the mean of two half-batch means
// equals the full-batch mean, so the results differ only by float32 summation order (the loss
// and gradient of B/2 rows summed then averaged, against B rows at once). Over a few steps that
// stays near 1e-6 relative; AdamW divides by sqrt(v) (amplifies tiny gradients' rounding in
// the first steps) and Muon's Newton-Schulz iterations amplify it a little, so the tolerance is
// 1e-4 relative on the losses and 2e-3 absolute on parameters (of order 0.1-1; a one-row
// difference in the data or a missing average moves them by 1e-2 or more).
//
// Failure: one rank killed mid-run (SIGKILL) -> the survivor exits with code 3 and a message
// naming the failed rank within the --dist-timeout, and the run folder resumes.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/formats/safetensors.h"
#include "test_train_support.h"

namespace fs = std::filesystem;

namespace {

using mts::test::CommandRun;
using mts::test::runCommand;
using mts::test::shellQuoted;
using mts::test::TempDir;

// A free-ish port per test (the store of rank 0 listens there).
int testPort() {
    static int next = 29600 + static_cast<int>(::getpid() % 2000) * 4;
    return next++;
}

std::string tinyArgs(const fs::path& data, const std::string& arch, const std::string& optimizer) {
    return " train --data " + shellQuoted(data.string()) + " --arch " + arch +
           " --model-preset tiny --set model.d_model=32 --set model.n_layer=2 --set model.d_state=8"
           " --set model.n_head=2 --set model.max_seq_len=64 --set seq_len=32 --set lr=3e-3"
           " --set warmup_steps=2 --set log_every=1 --set eval_every=0 --set eval_batches=2"
           " --set sample_every=0 --set device=\"cpu\" --set seed=7 --set threads=1 --set optimizer=\"" +
           optimizer + "\"";
}

std::vector<double> trainLosses(const fs::path& runDir) {
    std::vector<double> out;
    std::ifstream in(runDir / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        if (j.value("type", "") == "train") out.push_back(j.at("loss").get<double>());
    }
    return out;
}

fs::path lastCheckpoint(const fs::path& runDir) {
    fs::path best;
    for (const auto& e : fs::directory_iterator(runDir / "checkpoints"))
        if (e.is_directory() && (best.empty() || e.path().filename() > best.filename())) best = e.path();
    return best;
}

void expectEquivalent(const std::string& arch, const std::string& optimizer) {
    TempDir tmp;
    const fs::path data = mts::test::writeTinyCorpus(tmp.path(), 20000);
    const std::string common = shellQuoted(mts::test::cliPath()) + tinyArgs(data, arch, optimizer) +
                               " --max-steps 4 --runs-dir " + shellQuoted((tmp.path() / "runs").string());
    CommandRun one = runCommand(common + " --set micro_batch=4 --name one 2>" + shellQuoted((tmp.path() / "one.log").string()));
    ASSERT_EQ(one.exitCode, 0) << one.out;
    CommandRun two = runCommand("MASTER_PORT=" + std::to_string(testPort()) + " " + common +
                                " --set micro_batch=2 --nproc 2 --name two 2>" +
                                shellQuoted((tmp.path() / "two.log").string()));
    ASSERT_EQ(two.exitCode, 0) << two.out;

    const auto a = trainLosses(tmp.path() / "runs" / "one");
    const auto b = trainLosses(tmp.path() / "runs" / "two");
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);  // exactly one writer: rank 0's lines only
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * std::abs(a[i])) << "step " << i + 1;

    auto pa = mts::readSafetensors(lastCheckpoint(tmp.path() / "runs" / "one") / "model.safetensors").tensors;
    auto pb = mts::readSafetensors(lastCheckpoint(tmp.path() / "runs" / "two") / "model.safetensors").tensors;
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& [name, t] : pa) {
        ASSERT_TRUE(pb.count(name)) << name;
        const double diff = (t.to(torch::kDouble) - pb.at(name).to(torch::kDouble)).abs().max().item<double>();
        EXPECT_LT(diff, 2e-3) << name;
    }
}

TEST(DataParallelCli, TwoRanksMatchOneRankMambaAdamW) { expectEquivalent("mamba", "adamw"); }
TEST(DataParallelCli, TwoRanksMatchOneRankTransformerAdamW) { expectEquivalent("transformer", "adamw"); }
TEST(DataParallelCli, TwoRanksMatchOneRankMambaMuon) { expectEquivalent("mamba", "muon"); }
TEST(DataParallelCli, TwoRanksMatchOneRankTransformerMuon) { expectEquivalent("transformer", "muon"); }

// Two ranks started by hand as torchrun would (RANK/WORLD_SIZE/...); rank 1 is killed once
// training runs; rank 0 must stop with exit code 3 and a clear message within the timeout.
TEST(DataParallelCli, KilledRankStopsTheOtherAndTheRunResumes) {
    TempDir tmp;
    const fs::path data = mts::test::writeTinyCorpus(tmp.path(), 20000);
    const std::string port = std::to_string(testPort());
    const std::string args = tinyArgs(data, "mamba", "adamw") +
                             " --set micro_batch=2 --set checkpoint_every=2 --max-steps 100000 --dist-timeout 5"
                             " --runs-dir " + shellQuoted((tmp.path() / "runs").string()) + " --name killed";
    const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " WORLD_SIZE=2 ";
    const fs::path r1Log = tmp.path() / "rank1.log";

    pid_t rank1 = ::fork();
    ASSERT_GE(rank1, 0);
    if (rank1 == 0) {
        const std::string cmd = "exec env RANK=1 LOCAL_RANK=1 " + env + shellQuoted(mts::test::cliPath()) + args +
                                " >/dev/null 2>" + shellQuoted(r1Log.string());
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::thread killer([&] {
        // Kill rank 1 once rank 0 has written a checkpoint (training is under way).
        for (int i = 0; i < 600; ++i) {
            std::error_code ec;
            if (fs::exists(tmp.path() / "runs" / "killed" / "checkpoints", ec) &&
                !fs::is_empty(tmp.path() / "runs" / "killed" / "checkpoints", ec))
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(rank1, SIGKILL);
    });
    const auto t0 = std::chrono::steady_clock::now();
    CommandRun r0 = runCommand("env RANK=0 LOCAL_RANK=0 " + env + shellQuoted(mts::test::cliPath()) + args + " 2>" +
                               shellQuoted((tmp.path() / "rank0.log").string()));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    killer.join();
    int status = 0;
    ::waitpid(rank1, &status, 0);

    EXPECT_EQ(r0.exitCode, 3);
    std::ifstream logIn(tmp.path() / "rank0.log");
    std::stringstream log;
    log << logIn.rdbuf();
    EXPECT_NE(log.str().find("rank"), std::string::npos) << log.str();
    auto out = nlohmann::json::parse(r0.out);
    EXPECT_EQ(out.at("stop_reason"), "rank_failed");
    EXPECT_LT(seconds, 60.0);  // bound: startup + 5 s timeout, far below the default 180 s

    // The run resumes alone (world size 1: gradient accumulation doubles to keep the batch).
    const fs::path ck = lastCheckpoint(tmp.path() / "runs" / "killed");
    auto state = nlohmann::json::parse(std::ifstream(ck / "trainer_state.json"));
    const int64_t step = state.at("step").get<int64_t>();
    CommandRun again = runCommand(shellQuoted(mts::test::cliPath()) + " train --resume " +
                                  shellQuoted((tmp.path() / "runs" / "killed").string()) + " --max-steps " +
                                  std::to_string(step + 2) + " 2>" + shellQuoted((tmp.path() / "resume.log").string()));
    ASSERT_EQ(again.exitCode, 0) << again.out;
    auto res = nlohmann::json::parse(again.out);
    EXPECT_EQ(res.at("steps").get<int64_t>(), step + 2);
}

}  // namespace

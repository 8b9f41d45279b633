// A training process killed with SIGKILL while it writes checkpoints leaves a loadable latest
// checkpoint, whatever the moment; SIGINT (Ctrl-C) cancels, saves and exits 0.
#include <chrono>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_train_support.h"
#include "command_run.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"

extern char** environ;

namespace mts {
namespace {

namespace fs = std::filesystem;

// Starts the CLI with args, stdout/stderr to `log`. Returns the pid.
pid_t spawnCli(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> all = {mts::test::cliPath(), "--threads", "1"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0) << "cannot start " << mts::test::cliPath();
    return pid;
}

fs::path writeConfig(const fs::path& dir, int64_t delayMs) {
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir));
    cfg.maxSteps = 100000;
    cfg.checkpointEvery = 1;
    cfg.keepLast = 2;
    cfg.debugCheckpointDelayMs = delayMs;
    auto path = dir / "config.json";
    std::ofstream(path) << cfg.toJson().dump(2);
    return path;
}

// Waits (up to a minute: start-up is slow on a loaded machine) until `file` exists.
bool waitFor(const fs::path& file) {
    for (int i = 0; i < 6000; ++i) {
        if (fs::exists(file)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST(TrainKill, SigkillDuringCheckpointWritingLeavesALoadableLatest) {
    test::TempDir dir;
    // A checkpoint every step, each taking > 3 x 40 ms, steps a few ms: most of the time is
    // spent inside writeCheckpoint, so kills at different delays after the first checkpoint
    // land at different stages of writing one.
    auto config = writeConfig(dir.path(), 40);
    const std::vector<int> killAfterMs = {0, 35, 70, 110, 160, 230, 320};
    for (size_t i = 0; i < killAfterMs.size(); ++i) {
        const std::string name = "kill" + std::to_string(i);
        const fs::path run = dir / "runs" / name;
        pid_t pid = spawnCli({"train", "--config", config.string(), "--runs-dir", (dir / "runs").string(), "--name",
                              name},
                             dir / (name + ".log"));
        ASSERT_GT(pid, 0);
        const bool started = waitFor(run / "checkpoints" / "latest.txt");
        std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs[i]));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(started) << "no checkpoint within a minute; see " << name << ".log";
        ASSERT_TRUE(WIFSIGNALED(status)) << "the trainer ended before the kill; see " << name << ".log";
        LoadedCheckpoint ck;
        ASSERT_NO_THROW(ck = readCheckpoint(run)) << "kill " << i << " at +" << killAfterMs[i] << " ms";
        EXPECT_GE(ck.state.step, 1);
        // What `generate --model <run>` does: the run folder resolves to a complete model.
        EXPECT_NO_THROW(loadModel(run)) << "kill " << i;
        EXPECT_EQ(resolveModelDir(run), ck.dir);
    }

    // A killed run resumes from what it left.
    const fs::path run = dir / "runs" / ("kill" + std::to_string(killAfterMs.size() - 1));
    auto cfg = Trainer::resumeConfig(run);
    auto ck = readCheckpoint(run);
    cfg.maxSteps = ck.state.step + 2;
    cfg.debugCheckpointDelayMs = 0;
    auto r = Trainer(cfg, TrainStart{{}, {}, run, {}}, {}).run();
    EXPECT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    EXPECT_EQ(r.steps, ck.state.step + 2);
}

TEST(TrainKill, CtrlCCancelsSavesAndExitsCleanly) {
    test::TempDir dir;
    auto config = writeConfig(dir.path(), 0);
    {
        auto j = nlohmann::json::parse(std::ifstream(config));
        j["checkpoint_every"] = 0;
        std::ofstream(config, std::ios::trunc) << j.dump();
    }
    pid_t pid = spawnCli({"train", "--config", config.string(), "--runs-dir", (dir / "runs").string(), "--name", "int"},
                         dir / "int.log");
    ASSERT_TRUE(waitFor(dir / "runs" / "int" / "metrics.jsonl"));  // training has started
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream logIn(dir / "int.log");
    std::string log((std::istreambuf_iterator<char>(logIn)), {});
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 0) << log;
    EXPECT_NE(log.find("\"stop_reason\":\"cancelled\""), std::string::npos) << log;
    auto ck = readCheckpoint(dir / "runs" / "int");
    EXPECT_GE(ck.state.step, 1);
}

}  // namespace
}  // namespace mts

// Run folders are locked while a trainer writes them, and a resume after SIGKILL rewinds the
// metric and sample logs to the checkpoint (issue 13, items 6 and 7).
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/run_dir.h"
#include "mts/core/train/run_reader.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The message of the ConfigError `open` throws, or "" when it does not.
std::string refusal(const fs::path& dir) {
    try {
        mts::RunDir::open(dir);
    } catch (const mts::ConfigError& e) {
        return e.what();
    }
    return {};
}

// A run folder with a config, made by a finished tiny run with a checkpoint at step 4 and 8.
fs::path finishedRun(const TempDir& dir) {
    auto cfg = mts::test::tinyConfig(mts::test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 8;
    cfg.checkpointEvery = 4;
    cfg.keepLast = 5;
    cfg.logEvery = 1;
    cfg.sampleEvery = 2;
    cfg.sampleTokens = 4;
    mts::TrainStart start;
    start.runsDir = dir / "runs";
    start.name = "r";
    const auto result = mts::Trainer(cfg, start).run();
    EXPECT_EQ(result.stopReason, mts::TrainStopReason::MaxSteps) << result.message;
    return result.runDir;
}

}  // namespace

TEST(RunLock, ASecondWriterInThisProcessIsRefusedWithThePid) {
    TempDir dir;
    std::optional<mts::RunDir> first = mts::RunDir::create(dir / "runs", "a", "mamba");
    first->writeConfig(nlohmann::json::object());
    const std::string msg = refusal(first->path());
    EXPECT_NE(msg.find("in use by another trainer (pid " + std::to_string(::getpid()) + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find(first->path().string()), std::string::npos) << msg;
    {
        mts::RunDir copy = *first;  // copies share the lock
    }
    EXPECT_FALSE(refusal(first->path()).empty());
    const fs::path path = first->path();
    first.reset();
    EXPECT_EQ(refusal(path), "");  // released with the last copy
}

TEST(RunLock, AnotherProcessHoldsItUntilItIsKilled) {
    TempDir dir;
    fs::path run;
    {
        const mts::RunDir created = mts::RunDir::create(dir / "runs", "a", "mamba");
        created.writeConfig(nlohmann::json::object());
        run = created.path();
    }
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            mts::RunDir held = mts::RunDir::open(run);
            (void)!::write(ready[1], "x", 1);
            for (;;) ::pause();
        } catch (...) {
        }
        ::_exit(1);
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    const std::string msg = refusal(run);
    EXPECT_NE(msg.find("(pid " + std::to_string(child) + ")"), std::string::npos) << msg;
    // A trainer resuming that run is refused too, before it loads anything, and leaves the
    // folder alone.
    {
        const auto cfg = mts::test::tinyConfig(mts::test::writeTinyCorpus(dir.path()));
        mts::TrainStart start;
        start.resumeFrom = run;
        std::error_code ec;
        fs::create_directories(run / "checkpoints" / "step-00000001", ec);
        std::ofstream(run / "checkpoints" / "step-00000001" / "trainer_state.json") << "{}";
        const auto r = mts::Trainer(cfg, start).run();
        EXPECT_EQ(r.stopReason, mts::TrainStopReason::Failed);
        EXPECT_NE(r.message.find("in use by another trainer (pid " + std::to_string(child) + ")"), std::string::npos)
            << r.message;
        EXPECT_FALSE(fs::exists(run / "run.json"));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    EXPECT_EQ(refusal(run), "");  // the kernel released it with the process
}

TEST(RunLock, ResumeAfterAKillRewindsMetricsAndSamplesToTheCheckpoint) {
    TempDir dir;
    const fs::path run = finishedRun(dir);
    ASSERT_TRUE(fs::exists(run / "checkpoints" / "step-00000004"));
    // What a SIGKILL after step 8's records but before its checkpoint leaves: the step-8
    // checkpoint gone, and a line cut short at the end of each log.
    fs::remove_all(run / "checkpoints" / "step-00000008");
    std::ofstream(run / "checkpoints" / "latest.txt", std::ios::trunc) << "step-00000004\n";
    std::ofstream(run / "metrics.jsonl", std::ios::app) << "{\"type\":\"train\",\"step\":9,\"lo";
    std::ofstream(run / "samples.jsonl", std::ios::app) << "{\"step\":10,\"prom";

    auto cfg = mts::Trainer::resumeConfig(run);
    cfg.maxSteps = 8;
    mts::TrainStart start;
    start.resumeFrom = run;
    const auto r = mts::Trainer(cfg, start).run();
    ASSERT_EQ(r.stopReason, mts::TrainStopReason::MaxSteps) << r.message;

    // Every line complete, and the steps never go back: no zig-zag in the curves.
    for (const char* name : {"metrics.jsonl", "samples.jsonl"}) {
        std::istringstream lines(readText(run / name));
        std::string line;
        double last = -1;
        int count = 0;
        std::map<std::string, double> lastByType;
        while (std::getline(lines, line)) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            ASSERT_TRUE(j.is_object()) << name << ": " << line;
            const std::string type = j.value("type", std::string("sample"));
            const double step = j.at("step").get<double>();
            if (lastByType.count(type)) {
                EXPECT_GT(step, lastByType[type]) << name << ": " << line;
            }
            lastByType[type] = step;
            last = step;
            ++count;
        }
        EXPECT_EQ(last, 8) << name;
        EXPECT_GT(count, 0) << name;
    }
    const auto m = mts::readRunMetrics(run);
    EXPECT_EQ(m.skippedLines, 0);
    ASSERT_EQ(m.loss.size(), 8u);
    for (size_t i = 0; i < m.loss.size(); ++i) EXPECT_EQ(m.loss[i].step, static_cast<double>(i + 1));
}

TEST(RunLock, RewindKeepsCompleteLinesUpToTheStep) {
    TempDir dir;
    mts::RunDir run = mts::RunDir::create(dir / "runs", "a", "mamba");
    std::ofstream(run.path() / "metrics.jsonl") << "{\"step\":1}\nnot json\n{\"step\":2}\n{\"step\":3}\n{\"st";
    EXPECT_EQ(run.rewindTo(2), 2);
    EXPECT_EQ(readText(run.path() / "metrics.jsonl"), "{\"step\":1}\nnot json\n{\"step\":2}\n");
    EXPECT_EQ(run.rewindTo(2), 0);  // nothing more to drop; no samples.jsonl is fine
    EXPECT_FALSE(fs::exists(run.path() / "samples.jsonl"));
}

TEST(TrainerSetUp, CancelBeforeTheFirstStepLeavesNoRunFolder) {
    TempDir dir;
    auto cfg = mts::test::tinyConfig(mts::test::writeTinyCorpus(dir.path()));
    mts::TrainStart start;
    start.runsDir = dir / "runs";
    start.name = "r";
    mts::Trainer trainer(cfg, start);
    trainer.cancel();  // e.g. the window closed while the data was being read
    const auto r = trainer.run();
    EXPECT_EQ(r.stopReason, mts::TrainStopReason::Cancelled) << r.message;
    EXPECT_NE(r.message.find("during set-up"), std::string::npos) << r.message;
    EXPECT_EQ(r.steps, 0);
    EXPECT_TRUE(!fs::exists(dir / "runs") || fs::is_empty(dir / "runs"));
}

TEST(TrainerSetUp, ATextBuildStopsOnCancelAndLeavesNothing) {
    TempDir dir;
    const fs::path text = mts::test::writeTinyCorpus(dir.path(), 200000);
    std::atomic<bool> cancel{true};
    EXPECT_THROW(mts::openTrainData(text, 0.1, 16, nullptr, &cancel), mts::Cancelled);
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
        EXPECT_EQ(e.path().filename().string().find("mts-text.tmp-" + std::to_string(::getpid())), std::string::npos)
            << e.path();
}

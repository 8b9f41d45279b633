// Reading run folders (run_reader.h): summaries, metrics with a half-written line, status from
// run.json with dead-process detection, checkpoints, listing order and config differences.
#include <atomic>
#include <chrono>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "mts/core/train/run_reader.h"
#include "shared_data.h"
#include "command_run.h"

using mts::test::deadPid;

namespace fs = std::filesystem;
using namespace mts;

namespace {

// A run folder as the trainer writes it (run_dir.h), with `steps` logged steps.
void writeRun(const fs::path& dir, const std::string& arch, int steps, double lossScale) {
    fs::create_directories(dir / "checkpoints" / "step-00000010");
    fs::create_directories(dir / "checkpoints" / "step-00000005");
    fs::create_directories(dir / "checkpoints" / "step-00000020");  // no config.json: not a checkpoint
    std::ofstream(dir / "checkpoints" / "step-00000010" / "config.json") << "{}";
    std::ofstream(dir / "checkpoints" / "step-00000005" / "config.json") << "{}";
    std::ofstream(dir / "config.json") << R"({"model": {"arch": ")" << arch
                                       << R"(", "d_model": 64, "n_layer": 2}, "max_steps": 1000, "lr": 0.001})";
    std::ofstream m(dir / "metrics.jsonl");
    for (int s = 1; s <= steps; ++s) {
        m << R"({"type":"train","step":)" << s << R"(,"tokens":)" << s * 512 << R"(,"loss":)" << lossScale / s
          << R"(,"lr":0.001,"grad_norm":1.5,"tokens_per_sec":1000,"elapsed_sec":)" << s * 0.5 << "}\n";
        if (s % 5 == 0)
            m << R"({"type":"eval","step":)" << s << R"(,"tokens":)" << s * 512 << R"(,"val_loss":)" << lossScale / s + 0.1
              << "}\n";
    }
    m << R"({"type":"train","step":)";  // a half-written last line, as during training
}

}  // namespace

TEST(RunReader, ReadsSummaryAndMetricsAndSkipsBrokenLines) {
    test::TempDir dir;
    writeRun(dir / "a", "mamba", 20, 4.0);
    const RunSummary s = readRunSummary(dir / "a");
    EXPECT_EQ(s.name, "a");
    EXPECT_TRUE(s.dir.is_absolute());
    EXPECT_EQ(s.arch, "mamba");
    EXPECT_DOUBLE_EQ(s.steps, 20);
    EXPECT_DOUBLE_EQ(s.tokens, 20 * 512);
    EXPECT_NEAR(s.bestValLoss, 4.0 / 20 + 0.1, 1e-12);
    EXPECT_DOUBLE_EQ(s.wallSeconds, 10.0);
    ASSERT_EQ(s.checkpoints.size(), 2u);  // oldest first; the folder without config.json is not one
    EXPECT_EQ(s.checkpoints[0].filename(), "step-00000005");
    EXPECT_EQ(s.checkpoints[1].filename(), "step-00000010");
    EXPECT_NE(s.configJson.find("\"d_model\": 64"), std::string::npos);  // the file as written
    EXPECT_EQ(s.status, "running");  // no run.json, metrics written just now
    EXPECT_EQ(s.params, -1);

    const RunMetrics m = readRunMetrics(dir / "a");
    ASSERT_EQ(m.loss.size(), 20u);
    EXPECT_EQ(m.valLoss.size(), 4u);
    EXPECT_EQ(m.lr.size(), 20u);
    EXPECT_EQ(m.gradNorm.size(), 20u);
    EXPECT_EQ(m.tokensPerSec.size(), 20u);
    EXPECT_EQ(m.skippedLines, 1);
    EXPECT_DOUBLE_EQ(m.loss[3].step, 4);
    EXPECT_DOUBLE_EQ(m.loss[3].tokens, 4 * 512);
    EXPECT_DOUBLE_EQ(m.loss[3].value, 1.0);
    EXPECT_DOUBLE_EQ(m.elapsedSeconds, 10.0);
}

TEST(RunReader, StatusComesFromRunJsonAndADeadProcessIsInterrupted) {
    test::TempDir dir;
    writeRun(dir / "r", "transformer", 10, 3.0);
    auto writeRunJson = [&](const std::string& status, long long pid) {
        std::ofstream(dir / "r" / "run.json") << R"({"status": ")" << status << R"(", "pid": )" << pid
                                              << R"(, "params": 1234, "non_embedding_params": 1000, "elapsed_sec": 99})";
    };
    writeRunJson("finished", ::getpid());
    RunSummary s = readRunSummary(dir / "r");
    EXPECT_EQ(s.status, "finished");
    EXPECT_EQ(s.params, 1234);
    EXPECT_EQ(s.nonEmbeddingParams, 1000);
    EXPECT_DOUBLE_EQ(s.wallSeconds, 5.0);  // the metrics' own clock wins over run.json's
    writeRunJson("running", ::getpid());   // this process is alive
    EXPECT_EQ(readRunSummary(dir / "r").status, "running");
    writeRunJson("running", deadPid());
    EXPECT_EQ(readRunSummary(dir / "r").status, "interrupted (saved)");
    fs::remove_all(dir / "r" / "checkpoints");
    writeRunJson("paused", deadPid());
    EXPECT_EQ(readRunSummary(dir / "r").status, "interrupted");

    // Without run.json: max_steps reached means finished; an unreadable config.json, empty.
    fs::remove(dir / "r" / "run.json");
    std::ofstream(dir / "r" / "config.json") << R"({"model": {"arch": "mamba"}, "max_steps": 10})";
    EXPECT_EQ(readRunSummary(dir / "r").status, "finished");
    std::ofstream(dir / "r" / "config.json") << "{ not json";
    s = readRunSummary(dir / "r");
    EXPECT_EQ(s.status, "empty");
    EXPECT_TRUE(s.configJson.empty());
}

TEST(RunReader, ListsRunFoldersNewestFirst) {
    test::TempDir dir;
    writeRun(dir / "runs" / "old", "mamba", 3, 1.0);
    writeRun(dir / "runs" / "new", "mamba", 3, 1.0);
    fs::create_directories(dir / "runs" / "not-a-run");
    std::ofstream(dir / "runs" / "stray.txt") << "x";
    fs::last_write_time(dir / "runs" / "old" / "metrics.jsonl",
                        fs::file_time_type::clock::now() - std::chrono::hours(2));
    const auto folders = listRunFolders(dir / "runs");
    ASSERT_EQ(folders.size(), 2u);
    EXPECT_EQ(folders[0].filename(), "new");  // by name
    const auto runs = listRuns(dir / "runs");
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].name, "new");
    EXPECT_EQ(runs[1].name, "old");
    EXPECT_EQ(runs[1].status, "stopped (saved)");  // quiet for two hours, checkpoints kept
    EXPECT_GT(runs[0].modifiedUnixMs, runs[1].modifiedUnixMs + 3600 * 1000);
    std::atomic<bool> cancel{true};
    EXPECT_TRUE(listRuns(dir / "runs", &cancel).empty());
    EXPECT_TRUE(listRuns(dir / "missing").empty());
}

TEST(RunReader, DiffListsOnlyDifferingKeys) {
    const auto rows = diffConfigs({R"({"lr": 1, "model": {"d_model": 64, "arch": "mamba"}})",
                                   R"({"lr": 1, "model": {"d_model": 128, "arch": "mamba"}, "seed": 3})", "not json"});
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].key, "lr");  // the third text has no keys at all
    EXPECT_EQ(rows[1].key, "model.arch");
    EXPECT_EQ(rows[2].key, "model.d_model");
    EXPECT_EQ(rows[2].values, (std::vector<std::string>{"64", "128", "—"}));
    EXPECT_EQ(rows[3].key, "seed");
    EXPECT_EQ(rows[3].values[0], "—");
    EXPECT_EQ(rows[3].values[1], "3");
    EXPECT_TRUE(diffConfigs({R"({"a": 1})", R"({"a": 1})"}).empty());
}

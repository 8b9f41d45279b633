// checkpoint_minutes: the trainer also checkpoints by wall-clock time, whichever of steps and
// minutes fires first. Time comes from an injected fake clock (no sleeping): each step moves
// it on by 25 s, so a 1-minute cadence fires every third step.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

namespace fs = std::filesystem;

// Trains `cfg` with a clock that advances 25 s per step; returns the steps of the checkpoints
// written (onCheckpoint order) and checks they are on disk.
std::vector<int64_t> checkpointSteps(TrainConfig cfg, const fs::path& runs, const std::string& name) {
    double fakeNow = 1000.0;
    std::vector<int64_t> steps;
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress&) { fakeNow += 25.0; };
    cb.onCheckpoint = [&](const CheckpointReport& r) { steps.push_back(r.step); };
    Trainer trainer(cfg, TrainStart{runs, name, {}, {}}, cb);
    trainer.setClock([&] { return fakeNow; });
    const TrainResult r = trainer.run();
    EXPECT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    for (int64_t s : steps) EXPECT_TRUE(fs::is_directory(r.runDir / "checkpoints" / checkpointName(s))) << s;
    return steps;
}

TEST(CheckpointMinutes, FiresByTimeWithoutStepCadence) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 7;
    cfg.checkpointEvery = 0;
    cfg.checkpointMinutes = 1.0;
    cfg.keepLast = 10;
    // 25 s per step: 75 s >= 60 s at step 3, again at step 6 (75 s after step 3), then the end.
    EXPECT_EQ(checkpointSteps(cfg, dir.path(), "by-time"), (std::vector<int64_t>{3, 6, 7}));

    cfg.checkpointMinutes = 0.0;  // off: only the final checkpoint
    EXPECT_EQ(checkpointSteps(cfg, dir.path(), "off"), (std::vector<int64_t>{7}));
}

TEST(CheckpointMinutes, WhicheverOfStepsAndMinutesComesFirst) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 9;
    cfg.checkpointEvery = 4;
    cfg.checkpointMinutes = 1.0;
    cfg.keepLast = 10;
    // Time at step 3; steps at 4 (the clock restarts there); time again at 7 (75 s after 4);
    // steps at 8; the end at 9.
    EXPECT_EQ(checkpointSteps(cfg, dir.path(), "both"), (std::vector<int64_t>{3, 4, 7, 8, 9}));
}

TEST(CheckpointMinutes, DefaultIsTenMinutesInConfigPresetsAndCli) {
    EXPECT_EQ(TrainConfig{}.checkpointMinutes, 10.0);
    const PresetCatalog catalog = PresetCatalog::load();
    for (const std::string& training : catalog.trainingNames()) {
        const TrainConfig c = composeConfig(catalog, {"mamba", "tiny", "cpu", training});
        EXPECT_GT(c.checkpointMinutes, 0.0) << training;
        EXPECT_LE(c.checkpointMinutes, 10.0) << training;
    }
    TrainConfig bad;
    bad.data = "x";
    bad.checkpointMinutes = -1;
    EXPECT_THROW(bad.validate(), std::exception);

    const std::string cli = test::shellQuoted(test::cliPath());
    auto r = test::runCommand(cli + " -q train --data /nonexistent --checkpoint-minutes 2.5 --print-config 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0);
    EXPECT_EQ(nlohmann::json::parse(r.out)["checkpoint_minutes"], 2.5);
    r = test::runCommand(cli + " -q train --data /nonexistent --print-config 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0);
    EXPECT_EQ(nlohmann::json::parse(r.out)["checkpoint_minutes"], 10.0);
}

}  // namespace
}  // namespace mts

// The Train page's "Processes" option (issue 16): with 2 processes the studio starts the CLI's
// `train --nproc 2`, follows the run folder onto the live curves, shows both ranks, and Stop
// ends every rank and leaves a run that resumes; a rank failure reaches the page as an error.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "command_run.h"
#include "mts/core/train/run_reader.h"
#include "mts/core/train/train_config.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/rank_run.h"
#include "mts/ui/train_page.h"
#include "mts/ui/training_controller.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

mts::TrainConfig tinyConfig(const fs::path& text, int64_t steps) {
    {
        std::ofstream out(text);
        for (int i = 0; i < 300; ++i) out << "the state space model reads one token at a time, line " << i << ".\n";
    }
    const mts::TrainConfig defaults;
    nlohmann::json j = defaults.toJson();
    j["data"] = text.string();
    j["max_steps"] = steps;
    j["seq_len"] = 32;
    j["micro_batch"] = 4;
    j["grad_accum"] = 1;
    j["eval_every"] = 2;
    j["eval_batches"] = 1;
    j["sample_every"] = 0;
    j["log_every"] = 1;
    j["checkpoint_every"] = 2;
    j["model"]["arch"] = "mamba";
    j["model"]["n_layer"] = 1;
    j["model"]["d_model"] = 32;
    return mts::TrainConfig::fromJson(j);
}

// Two local ranks of the CLI this test suite built.
void useTwoCliRanks(TrainingController& controller) {
    controller.rankRun()->setCliPath(QString::fromStdString(mts::test::cliPath()));
    controller.setProcesses(2);
}

bool alive(qint64 pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH); }

}  // namespace

TEST(TrainProcesses, TwoRanksTrainInChildProcessesOntoTheLiveCurves) {
    mts::test::uiApp();
    mts::test::TempDir tmp;
    TrainingController controller;
    useTwoCliRanks(controller);
    QSignalSpy finished(&controller, &TrainingController::finished);
    QSignalSpy evaluated(&controller, &TrainingController::evaluated);
    QString error;
    ASSERT_TRUE(controller.start(tinyConfig(tmp / "a.txt", 6), mts::test::qpath(tmp / "runs"), QStringLiteral("dp"), &error))
        << error.toStdString();
    EXPECT_FALSE(controller.canPause());
    int maxRanks = 0;
    ASSERT_TRUE(mts::test::waitUntil([&] {
        maxRanks = std::max<int>(maxRanks, controller.ranks().size());
        return finished.count() == 1;
    }, 120000));
    const auto outcome = finished.at(0).at(0).value<TrainOutcome>();
    EXPECT_EQ(outcome.stopReason.toStdString(), "max_steps") << outcome.message.toStdString();
    EXPECT_EQ(outcome.steps, 6);
    EXPECT_EQ(outcome.runDir.toStdString(), (tmp / "runs" / "dp").string());
    EXPECT_EQ(maxRanks, 2);
    ASSERT_EQ(controller.ranks().size(), 2);
    EXPECT_NE(controller.ranks()[0].pid, controller.ranks()[1].pid);
    // The curves got the run's points, exactly what metrics.jsonl holds.
    const auto batch = controller.series().drain();
    const mts::RunMetrics m = mts::readRunMetrics(tmp / "runs" / "dp");
    ASSERT_EQ(m.loss.size(), 6u);
    EXPECT_EQ(batch[kSeriesLoss].size(), m.loss.size());
    EXPECT_DOUBLE_EQ(batch[kSeriesLoss].back().value, m.loss.back().value);
    EXPECT_EQ(evaluated.count(), int(m.valLoss.size()));
    EXPECT_GT(evaluated.count(), 0);
    EXPECT_EQ(controller.state(), TrainingController::State::Idle);
}

TEST(TrainProcesses, StopEndsEveryRankAndTheRunResumes) {
    mts::test::uiApp();
    mts::test::TempDir tmp;
    TrainingController controller;
    useTwoCliRanks(controller);
    QSignalSpy finished(&controller, &TrainingController::finished);
    QString error;
    ASSERT_TRUE(controller.start(tinyConfig(tmp / "a.txt", 100000), mts::test::qpath(tmp / "runs"), QStringLiteral("long"),
                                 &error))
        << error.toStdString();
    // Wait until both ranks train (a few steps are on the curve), then Stop.
    ASSERT_TRUE(mts::test::waitUntil([&] { return controller.ranks().size() == 2 && controller.latestProgress().step >= 3; },
                                     120000));
    const QList<RankInfo> ranks = controller.ranks();
    controller.stop();
    EXPECT_EQ(controller.state(), TrainingController::State::Stopping);
    ASSERT_TRUE(mts::test::waitUntil([&] { return finished.count() == 1; }, 60000));
    const auto outcome = finished.at(0).at(0).value<TrainOutcome>();
    EXPECT_EQ(outcome.stopReason.toStdString(), "cancelled") << outcome.message.toStdString();
    EXPECT_FALSE(outcome.lastCheckpoint.isEmpty());
    for (const RankInfo& r : ranks)
        EXPECT_TRUE(mts::test::waitUntil([&] { return !alive(r.pid); }, 10000)) << "rank " << r.rank << " still alive";
    // The run folder resumes (two processes again) and goes on from the saved step.
    const qint64 saved = outcome.steps;
    QSignalSpy again(&controller, &TrainingController::finished);
    ASSERT_TRUE(controller.resumeRun(outcome.runDir, QStringLiteral("{\"max_steps\": %1}").arg(saved + 2), &error))
        << error.toStdString();
    ASSERT_TRUE(mts::test::waitUntil([&] { return again.count() == 1; }, 120000));
    const auto resumed = again.at(0).at(0).value<TrainOutcome>();
    EXPECT_EQ(resumed.stopReason.toStdString(), "max_steps") << resumed.message.toStdString();
    EXPECT_EQ(resumed.steps, saved + 2);
}

TEST(TrainProcesses, AFailingRunAndAMissingCliAreReported) {
    mts::test::uiApp();
    mts::test::TempDir tmp;
    TrainingController controller;
    controller.setProcesses(2);
    controller.rankRun()->setCliPath(mts::test::qpath(tmp / "no-such-cli"));
    QString error;
    EXPECT_FALSE(controller.start(tinyConfig(tmp / "a.txt", 2), mts::test::qpath(tmp / "runs"), {}, &error));
    EXPECT_TRUE(error.contains(QStringLiteral("no-such-cli"))) << error.toStdString();
    EXPECT_EQ(controller.state(), TrainingController::State::Idle);

    // A config the trainer refuses (data that does not exist): failed(message) then finished.
    controller.rankRun()->setCliPath(QString::fromStdString(mts::test::cliPath()));
    mts::TrainConfig bad = tinyConfig(tmp / "b.txt", 2);
    bad.data = (tmp / "missing.txt").string();
    QSignalSpy failed(&controller, &TrainingController::failed);
    QSignalSpy finished(&controller, &TrainingController::finished);
    ASSERT_TRUE(controller.start(bad, mts::test::qpath(tmp / "runs"), {}, &error)) << error.toStdString();
    ASSERT_TRUE(mts::test::waitUntil([&] { return finished.count() == 1; }, 60000));
    ASSERT_EQ(failed.count(), 1);
    const QString message = failed.at(0).at(0).toString();
    EXPECT_TRUE(message.contains(QStringLiteral("missing.txt"))) << message.toStdString();
}

TEST(TrainProcesses, TheTrainPageOffersProcessesAndShowsTheRanks) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    TrainPage page(settings);
    auto* spin = page.findChild<QSpinBox*>(QStringLiteral("processesSpin"));
    ASSERT_NE(spin, nullptr);
    EXPECT_EQ(spin->minimum(), 1);
    EXPECT_GE(spin->maximum(), 1);
    EXPECT_EQ(spin->value(), 1);
    auto* ranks = page.findChild<QLabel*>(QStringLiteral("ranksLabel"));
    ASSERT_NE(ranks, nullptr);
    EXPECT_TRUE(ranks->isHidden());
    if (spin->maximum() < 2) GTEST_SKIP() << "one core: the page offers 1 process only (checked above)";

    // Two processes from the page: the ranks appear under the progress line.
    page.controller()->rankRun()->setCliPath(QString::fromStdString(mts::test::cliPath()));
    page.setConfigJson(QString::fromStdString(tinyConfig(dir / "a.txt", 4).toJson().dump(2)));
    spin->setValue(2);
    QSignalSpy finished(page.controller(), &TrainingController::finished);
    ASSERT_TRUE(page.startTraining());
    auto* pause = page.findChild<QPushButton*>(QStringLiteral("pauseButton"));
    ASSERT_NE(pause, nullptr);
    EXPECT_FALSE(pause->isEnabled());  // not offered for a multi-process run
    EXPECT_FALSE(spin->isEnabled());
    QString seen;
    ASSERT_TRUE(mts::test::waitUntil([&] {
        if (!ranks->isHidden()) seen = ranks->text();
        return finished.count() == 1;
    }, 120000));
    EXPECT_TRUE(seen.startsWith(QStringLiteral("2 processes"))) << seen.toStdString();
    EXPECT_TRUE(seen.contains(QStringLiteral("rank 1 · pid"))) << seen.toStdString();
    EXPECT_TRUE(ranks->text().contains(QStringLiteral("exited"))) << ranks->text().toStdString();
}

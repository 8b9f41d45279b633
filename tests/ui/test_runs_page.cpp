#include <fstream>

#include <QFileInfo>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTableWidget>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/run_store.h"
#include "mts/ui/runs_page.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

// A run folder as the trainer writes it (run_dir.h), with `steps` logged steps.
void writeRun(const fs::path& dir, const std::string& arch, int dModel, int steps, double lossScale) {
    fs::create_directories(dir / "checkpoints" / "step-00000010");
    std::ofstream(dir / "checkpoints" / "step-00000010" / "config.json") << "{}";
    std::ofstream(dir / "config.json") << R"({"model": {"arch": ")" << arch << R"(", "d_model": )" << dModel
                                       << R"(, "n_layer": 2}, "max_steps": 1000, "lr": 0.001, "seq_len": 64})";
    std::ofstream m(dir / "metrics.jsonl");
    for (int s = 1; s <= steps; ++s) {
        m << R"({"type":"train","step":)" << s << R"(,"tokens":)" << s * 512 << R"(,"loss":)" << lossScale / s
          << R"(,"lr":0.001,"grad_norm":1.5,"tokens_per_sec":1000,"elapsed_sec":)" << s * 0.5 << "}\n";
        if (s % 5 == 0) m << R"({"type":"eval","step":)" << s << R"(,"tokens":)" << s * 512 << R"(,"val_loss":)" << lossScale / s + 0.1 << "}\n";
    }
    m << R"({"type":"train","step":)";  // a half-written last line, as during training
}

}  // namespace

// The adapter carries core's reading (tests/core/test_run_reader.cpp) over to Qt types.
TEST(RunStore, ReadsSummaryAndMetricsThroughCore) {
    mts::test::TempDir dir;
    writeRun(dir / "a", "mamba", 64, 20, 4.0);
    const RunSummary s = readRunSummary(mts::test::qpath(dir / "a"));
    EXPECT_EQ(s.arch, QStringLiteral("mamba"));
    EXPECT_EQ(s.name, QStringLiteral("a"));
    EXPECT_DOUBLE_EQ(s.steps, 20);
    EXPECT_DOUBLE_EQ(s.tokens, 20 * 512);
    EXPECT_NEAR(s.bestValLoss, 4.0 / 20 + 0.1, 1e-9);
    EXPECT_EQ(s.checkpoints.size(), 1);
    EXPECT_LT(qAbs(s.modified.secsTo(QDateTime::currentDateTime())), 60);
    const RunMetrics m = readRunMetrics(mts::test::qpath(dir / "a"));
    EXPECT_EQ(m.loss.size(), 20);
    EXPECT_EQ(m.valLoss.size(), 4);
    EXPECT_DOUBLE_EQ(m.loss[1].value, 2.0);
    EXPECT_EQ(m.skippedLines, 1);
    EXPECT_DOUBLE_EQ(m.elapsedSeconds, 10.0);
    EXPECT_EQ(listRuns(mts::test::qpath(dir.path())).size(), 1);
}

TEST(RunStore, DiffListsOnlyDifferingKeys) {
    const auto rows = diffConfigs({QStringLiteral(R"({"lr": 1, "model": {"d_model": 64, "arch": "mamba"}})"),
                                   QStringLiteral(R"({"lr": 1, "model": {"d_model": 128, "arch": "mamba"}, "seed": 3})")});
    ASSERT_EQ(rows.size(), 2);
    EXPECT_EQ(rows[0].key, QStringLiteral("model.d_model"));
    EXPECT_EQ(rows[0].values, (QStringList{QStringLiteral("64"), QStringLiteral("128")}));
    EXPECT_EQ(rows[1].key, QStringLiteral("seed"));
    EXPECT_EQ(rows[1].values[0], QStringLiteral("—"));
}

TEST(RunsPage, OverlaysTwoRunsAndExports) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    writeRun(dir / "runs" / "mamba-run", "mamba", 64, 30, 4.0);
    writeRun(dir / "runs" / "transformer-run", "transformer", 64, 30, 5.0);
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    settings.setRunsFolder(mts::test::qpath(dir / "runs"));
    RunsPage page(settings);
    page.resize(1000, 700);
    page.show();
    page.refresh();  // asked while the refresh of show() runs: done right after it
    ASSERT_TRUE(page.isRefreshing());
    QSignalSpy refreshed(&page, &RunsPage::refreshed);
    ASSERT_TRUE(mts::test::waitUntil([&] { return !page.isRefreshing(); }, 10000));
    EXPECT_EQ(refreshed.count(), 1);
    ASSERT_EQ(page.runCount(), 2);
    auto* table = page.findChild<QTableWidget*>(QStringLiteral("runsTable"));
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->rowCount(), 2);

    page.selectRuns({QStringLiteral("mamba-run")});
    EXPECT_EQ(page.overlayGraphCount(), 2);  // train + validation of one run
    page.selectRuns({QStringLiteral("mamba-run"), QStringLiteral("transformer-run")});
    EXPECT_EQ(page.overlayGraphCount(), 4);

    // The Config tab shows the configuration the current run used: its config.json as written.
    auto* config = page.findChild<QPlainTextEdit*>(QStringLiteral("runConfig"));
    ASSERT_NE(config, nullptr);
    EXPECT_TRUE(config->isReadOnly());
    const QString shown = page.configRunDir();
    EXPECT_TRUE(shown.endsWith(QStringLiteral("-run")));
    std::ifstream written((shown + QStringLiteral("/config.json")).toStdString());
    EXPECT_EQ(config->toPlainText().toStdString(), std::string(std::istreambuf_iterator<char>(written), {}));
    page.selectRuns({QStringLiteral("transformer-run")});
    EXPECT_TRUE(config->toPlainText().contains(QStringLiteral("\"transformer\"")));
    page.selectRuns({});
    EXPECT_TRUE(config->toPlainText().isEmpty());
    page.selectRuns({QStringLiteral("mamba-run"), QStringLiteral("transformer-run")});

    auto* diff = page.findChild<QTableWidget*>(QStringLiteral("configDiff"));
    ASSERT_NE(diff, nullptr);
    ASSERT_EQ(diff->rowCount(), 1);
    EXPECT_EQ(diff->item(0, 0)->text(), QStringLiteral("model.arch"));

    for (const char* name : {"plot.png", "plot.svg", "plot.pdf"}) {
        const QString file = mts::test::qpath(dir / name);
        EXPECT_TRUE(page.exportPlot(file)) << name;
        EXPECT_GT(QFileInfo(file).size(), 500) << name;
    }
    const QString csv = mts::test::qpath(dir / "metrics.csv");
    ASSERT_TRUE(page.exportCsv(csv));
    std::ifstream in(csv.toStdString());
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header, "run,type,step,tokens,flops,metric,value");
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    EXPECT_EQ(lines, 2 * (30 * 4 + 6));  // per run: 4 train metrics per step + 6 evaluations
}

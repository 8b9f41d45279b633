// The Runs page's comparison: PNG plots rendered with QtGui, and the Compare dialog running a
// tiny suite on its worker, showing the table and writing PNG beside SVG.
#include <fstream>

#include <QColor>
#include <QImage>
#include <QComboBox>
#include <QLineEdit>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/ui/compare_dialog.h"
#include "mts/ui/plot_png.h"
#include "ui_test_support.h"

using namespace mts::ui;
using mts::test::qpath;
using mts::test::uiApp;
using mts::test::waitUntil;
namespace fs = std::filesystem;

TEST(PlotPng, DrawsEverySeriesInItsColor) {
    uiApp();
    mts::LinePlot plot{"loss", "FLOPs", "loss", true, {{"a", {{1e9, 3.0}, {1e10, 2.0}}}, {"b", {{1e9, 2.5}, {1e10, 2.2}}}}};
    const QImage image = renderPlotImage(plot, 400, 300);
    ASSERT_EQ(image.size(), QSize(400, 300));
    for (size_t i = 0; i < 2; ++i) {
        const QColor want(QString::fromStdString(mts::plotColor(i)));
        bool found = false;
        for (int y = 0; y < image.height() && !found; ++y)
            for (int x = 0; x < image.width() && !found; ++x) found = QColor(image.pixel(x, y)) == want;
        EXPECT_TRUE(found) << "series " << i;
    }
    mts::test::TempDir dir;
    writePlotPng(plot, dir / "p.png");
    EXPECT_FALSE(QImage(qpath(dir / "p.png")).isNull());
    EXPECT_THROW(writePlotPng(plot, dir / "missing" / "p.png"), std::exception);
}

TEST(CompareDialog, RunsATinySuiteAndShowsItsTable) {
    uiApp();
    mts::test::TempDir dir;
    {
        std::ofstream text(dir / "text.txt");
        for (int i = 0; i < 400; ++i) text << "the quick brown fox jumps over the lazy dog.\n";
    }
    CompareDialog dialog(qpath(dir.path()));
    dialog.dataEdit()->setText(qpath(dir / "text.txt"));
    dialog.archsEdit()->setText(QStringLiteral("mamba,transformer"));
    dialog.budgetEdit()->setText(QStringLiteral("256tokens"));
    dialog.outEdit()->setText(qpath(dir / "report"));
    // The recipe and settings reach every run (two evaluation batches keep the test short).
    dialog.trainingCombo()->setCurrentIndex(dialog.trainingCombo()->findData(QStringLiteral("fast")));
    ASSERT_GT(dialog.trainingCombo()->currentIndex(), 0);
    dialog.settingsEdit()->setText(QStringLiteral("eval_batches=2  sample_every=0"));
    bool done = false, ok = false;
    QObject::connect(&dialog, &CompareDialog::suiteFinished, [&](bool success) {
        done = true;
        ok = success;
    });
    ASSERT_TRUE(dialog.startSuite()) << dialog.logText().toStdString();
    ASSERT_TRUE(waitUntil([&] { return done; }, 120000));
    EXPECT_TRUE(ok) << dialog.logText().toStdString();
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("| mamba |"))) << dialog.logText().toStdString();
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("| transformer |")));
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("training preset: fast"))) << dialog.logText().toStdString();
    const auto config = nlohmann::json::parse(std::ifstream(dir / "report" / "runs" / "mamba" / "config.json"));
    EXPECT_EQ(config.at("eval_batches"), 2);
    EXPECT_EQ(config.at("optimizer"), "muon");  // the fast recipe's
    for (const char* f : {"val_loss_vs_flops.png", "val_loss_vs_time.png", "val_loss_vs_flops.svg", "report.md"})
        EXPECT_TRUE(fs::exists(dir / "report" / f)) << f;
    // Bad input: a clear message, nothing started.
    dialog.budgetEdit()->setText(QStringLiteral("soon"));
    EXPECT_FALSE(dialog.startSuite());
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("budget")));
    dialog.budgetEdit()->setText(QStringLiteral("256tokens"));
    dialog.settingsEdit()->setText(QStringLiteral("eval_batches=2 no_such_key=1"));
    EXPECT_FALSE(dialog.startSuite());
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("no_such_key"))) << dialog.logText().toStdString();
    EXPECT_FALSE(dialog.isRunning());
}

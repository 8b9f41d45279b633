// The Runs page's comparison: PNG plots rendered with QtGui, and the Compare dialog running a
// tiny suite on its worker, showing the table and writing PNG beside SVG.
#include <fstream>

#include <QColor>
#include <QImage>
#include <QLineEdit>

#include <gtest/gtest.h>

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
    for (const char* f : {"val_loss_vs_flops.png", "val_loss_vs_time.png", "val_loss_vs_flops.svg", "report.md"})
        EXPECT_TRUE(fs::exists(dir / "report" / f)) << f;
    // Bad input: a clear message, nothing started.
    dialog.budgetEdit()->setText(QStringLiteral("soon"));
    EXPECT_FALSE(dialog.startSuite());
    EXPECT_TRUE(dialog.logText().contains(QStringLiteral("budget")));
}

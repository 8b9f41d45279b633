#include <QLabel>
#include <QListWidget>
#include <QSettings>
#include <QStackedWidget>
#include <QTest>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/dataset_page.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/main_window.h"
#include "mts/ui/runs_page.h"
#include "mts/ui/train_page.h"
#include "ui_test_support.h"

using namespace mts::ui;

namespace {

StudioOptions isolatedOptions(const mts::test::TempDir& dir) {
    StudioOptions options;
    options.settingsFile = mts::test::qpath(dir / "settings.ini");
    options.dataDir = mts::test::qpath(dir / "data");
    options.sampleDataset = false;
    return options;
}

}  // namespace

TEST(MainWindow, OpensWithAllPages) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    MainWindow window(isolatedOptions(dir));
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));

    auto* stack = window.findChild<QStackedWidget*>(QStringLiteral("pages"));
    ASSERT_NE(stack, nullptr);
    EXPECT_EQ(stack->count(), 4);
    EXPECT_NE(window.findChild<DatasetPage*>(QStringLiteral("datasetPage")), nullptr);
    EXPECT_NE(window.findChild<TrainPage*>(QStringLiteral("trainPage")), nullptr);
    EXPECT_NE(window.findChild<GeneratePage*>(QStringLiteral("generatePage")), nullptr);
    EXPECT_NE(window.findChild<RunsPage*>(QStringLiteral("runsPage")), nullptr);

    auto* nav = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    ASSERT_NE(nav, nullptr);
    ASSERT_EQ(nav->count(), 4);
    for (int i = 0; i < nav->count(); ++i) EXPECT_FALSE(nav->item(i)->toolTip().isEmpty());

    // Clicking a navigation entry switches the page; Ctrl+4 jumps to Runs.
    nav->setCurrentRow(2);
    EXPECT_EQ(stack->currentWidget(), window.generatePage());
    QTest::keyClick(&window, Qt::Key_4, Qt::ControlModifier);
    EXPECT_EQ(window.currentPage(), Page::Runs);

    // Status bar shows the runtime's device, threads and memory.
    auto* device = window.findChild<QLabel*>(QStringLiteral("deviceLabel"));
    auto* threads = window.findChild<QLabel*>(QStringLiteral("threadsLabel"));
    auto* memory = window.findChild<QLabel*>(QStringLiteral("memoryLabel"));
    ASSERT_TRUE(device && threads && memory);
    EXPECT_FALSE(device->text().isEmpty());
    EXPECT_TRUE(threads->text().contains(QStringLiteral("threads")));
    EXPECT_TRUE(memory->text().contains(QStringLiteral("RAM")));
}

TEST(MainWindow, PersistsGeometryAndPage) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    {
        MainWindow window(isolatedOptions(dir));
        window.resize(900, 640);
        window.show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
        window.showPage(Page::Generate);
        window.close();
    }
    MainWindow again(isolatedOptions(dir));
    EXPECT_EQ(again.currentPage(), Page::Generate);
    EXPECT_EQ(again.size(), QSize(900, 640));
}

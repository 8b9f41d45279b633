// Closing the window never blocks the GUI thread on engine work (issue 13, item 9): during a
// model/checkpoint load, a training set-up or a PDF extraction the window hides at once, the
// event loop keeps running, every job is asked to stop and the window closes when they ended.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include <QElapsedTimer>
#include <QPointer>
#include <QSignalSpy>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QComboBox>

#include "mts/core/train/trainer.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/dataset_page.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "mts/ui/ingest_job.h"
#include "mts/ui/main_window.h"
#include "mts/ui/train_page.h"
#include "mts/ui/training_controller.h"
#include "../core/test_train_support.h"
#ifdef MTS_HAVE_INGEST
#include "../ingest/minimal_pdf.h"
#endif
#include "ui_test_support.h"

namespace fs = std::filesystem;
using namespace mts::ui;

namespace {

StudioOptions isolatedOptions(const mts::test::TempDir& dir) {
    StudioOptions options;
    options.settingsFile = mts::test::qpath(dir / "settings.ini");
    options.dataDir = mts::test::qpath(dir / "data");
    options.sampleDataset = false;
    return options;
}

// A window that deletes itself when it really closes (destroyed() tells the test).
MainWindow* openWindow(const mts::test::TempDir& dir) {
    auto* window = new MainWindow(isolatedOptions(dir));
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->show();
    return window;
}

}  // namespace

// A model load cannot be interrupted (one file read); closing must not wait for it on the GUI thread.
TEST(CloseDuringWork, ModelLoadKeepsTheEventLoopRunning) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    QPointer<MainWindow> window = openWindow(dir);
    GenerationJob* job = window->generatePage()->job();
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> held{false};
    // The hook holds the load like a slow disk; it gives up after 8 s so a blocked GUI thread
    // (the failure this test catches) cannot hang the test.
    job->setBeforeLoadForTesting([&held, released] {
        held = true;
        released.wait_for(std::chrono::seconds(8));
        held = false;
    });
    job->loadModel(mts::test::qpath(dir / "no-such-model"));
    ASSERT_TRUE(mts::test::waitUntil([&] { return held.load(); }, 10000));
    QSignalSpy destroyed(window.data(), &QObject::destroyed);

    QElapsedTimer t;
    t.start();
    window->close();
    EXPECT_LT(t.elapsed(), 1000);
    ASSERT_FALSE(window.isNull());
    EXPECT_FALSE(window->isVisible());
    EXPECT_TRUE(window->isClosing());
    QTest::qWait(200);  // the event loop runs; a window destroyed now would join the held worker
    EXPECT_TRUE(held.load()) << "the GUI thread waited for the load";
    EXPECT_FALSE(window.isNull());

    release.set_value();
    EXPECT_TRUE(mts::test::waitUntil([&] { return destroyed.count() == 1; }, 10000));
}

// Closing during a training set-up: it returns at once, the set-up stops before the first step
// and no run folder (or checkpoint) is left; the window closes once the worker has ended.
TEST(CloseDuringWork, TrainingSetUpIsCancelledAndLeavesNoRun) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    // Enough text that reading it takes a while (set-up is still running when the window closes).
    const fs::path text = mts::test::writeTinyCorpus(dir.path(), 4 << 20);
    const mts::TrainConfig config = mts::test::tinyConfig(text);
    QPointer<MainWindow> window = openWindow(dir);
    window->setCloseConfirmation([] { return true; });
    TrainingController* controller = window->trainPage()->controller();
    QSignalSpy finished(controller, &TrainingController::finished);
    QSignalSpy destroyed(window.data(), &QObject::destroyed);
    QString error;
    ASSERT_TRUE(controller->start(config, mts::test::qpath(dir / "runs"),
                                  QStringLiteral("r"), &error))
        << error.toStdString();

    QElapsedTimer t;
    t.start();
    window->close();
    EXPECT_LT(t.elapsed(), 1000);
    ASSERT_TRUE(mts::test::waitUntil([&] { return destroyed.count() == 1; }, 60000));
    ASSERT_EQ(finished.count(), 1);
    const auto outcome = finished.front().front().value<TrainOutcome>();
    EXPECT_EQ(outcome.stopReason, QStringLiteral("cancelled")) << outcome.message.toStdString();
    EXPECT_EQ(outcome.steps, 0);
    EXPECT_TRUE(!fs::exists(dir / "runs") || fs::is_empty(dir / "runs")) << outcome.message.toStdString();
}

// The Generate page's model picker lists the runs folder (a summary read per run) on a worker,
// like the Runs page: refreshModels() returns before anything is read.
TEST(CloseDuringWork, GeneratePageListsRunsOffTheGuiThread) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    mts::TrainConfig config = mts::test::tinyConfig(mts::test::writeTinyCorpus(dir.path()));
    config.maxSteps = 2;
    mts::TrainStart start;
    start.runsDir = dir / "runs";
    start.name = "r";
    const mts::TrainResult trained = mts::Trainer(config, start).run();
    ASSERT_FALSE(trained.lastCheckpoint.empty()) << trained.message;

    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    settings.setRunsFolder(mts::test::qpath(dir / "runs"));
    GeneratePage page(settings);
    auto* picker = page.findChild<QComboBox*>(QStringLiteral("modelPicker"));
    ASSERT_NE(picker, nullptr);
    QSignalSpy refreshed(&page, &GeneratePage::modelsRefreshed);
    page.refreshModels();
    EXPECT_TRUE(page.isRefreshingModels());
    EXPECT_EQ(picker->count(), 0);  // nothing read on the GUI thread
    ASSERT_TRUE(mts::test::waitUntil([&] { return refreshed.count() > 0; }, 30000));
    EXPECT_FALSE(page.isRefreshingModels());
    EXPECT_GE(picker->count(), 2);  // the run ("latest") and its checkpoint
}

#ifdef MTS_HAVE_INGEST
// Closing during a PDF extraction that hangs: the window hides at once, cancel kills the helper,
// the window closes and no dataset is added.
TEST(CloseDuringWork, HangingPdfExtractionEndsOnClose) {
    mts::test::uiApp();
    mts::test::PdfHelperTestMarkers markers;
    mts::test::TempDir dir;
    const fs::path src = dir / "pdfs";
    fs::create_directories(src);
    std::ofstream(src / "stuck.pdf", std::ios::binary) << mts::test::minimalPdf("never", "%mts-test:hang\n");
    QPointer<MainWindow> window = openWindow(dir);
    DatasetPage* page = window->datasetPage();
    QSignalSpy added(page, &DatasetPage::datasetAdded);
    QSignalSpy destroyed(window.data(), &QObject::destroyed);
    ASSERT_TRUE(page->addSources({mts::test::qpath(src)}));
    QTest::qWait(300);  // the helper is started and stuck
    ASSERT_TRUE(page->job()->running());

    QElapsedTimer t;
    t.start();
    window->close();
    EXPECT_LT(t.elapsed(), 1000);
    EXPECT_TRUE(mts::test::waitUntil([&] { return destroyed.count() == 1; }, 10000));
    EXPECT_EQ(added.count(), 0);
}
#endif

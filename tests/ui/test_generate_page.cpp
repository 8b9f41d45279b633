// The Generate page: the runs folder is listed on a worker (the picker fills later, from the
// event loop), and Send with no model loaded loads the picked model (with a busy bar) and then
// sends, or says what to do when there is nothing to load.
#include <fstream>
#include <string>

#include <QComboBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSignalSpy>

#include <gtest/gtest.h>

#include "mts/core/train/trainer.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

// A tiny Mamba trained for a few steps into runsFolder (one run with a checkpoint).
void trainTinyRun(const fs::path& work, const QString& runsFolder) {
    std::string text;
    while (text.size() < 4000) text += "the quick brown fox jumps over the lazy dog.\n";
    std::ofstream(work / "tiny.txt") << text;
    mts::TrainConfig c;
    c.data = (work / "tiny.txt").string();
    c.model.dModel = 32;
    c.model.nLayer = 1;
    c.model.dState = 8;
    c.seqLen = 32;
    c.microBatch = 2;
    c.maxSteps = 3;
    c.warmupSteps = 1;
    c.logEvery = 1;
    c.evalEvery = 0;
    c.evalBatches = 1;
    c.checkpointEvery = 0;
    c.keepBest = false;
    c.device = "cpu";
    const mts::TrainResult r = mts::Trainer(c, mts::TrainStart{runsFolder.toStdString(), "tiny", {}, {}}).run();
    ASSERT_FALSE(r.lastCheckpoint.empty()) << r.message;
}

}  // namespace

TEST(GeneratePage, ModelListIsReadOnAWorker) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    trainTinyRun(dir.path(), settings.runsFolder());
    GeneratePage page(settings);
    auto* picker = page.findChild<QComboBox*>(QStringLiteral("modelPicker"));
    ASSERT_NE(picker, nullptr);
    QSignalSpy refreshed(&page, &GeneratePage::modelsRefreshed);
    page.refreshModels();
    // Returned at once: the folder is read elsewhere and the picker fills from the event loop.
    EXPECT_TRUE(page.isRefreshingModels());
    EXPECT_EQ(picker->count(), 0);
    ASSERT_TRUE(mts::test::waitUntil([&] { return refreshed.count() > 0; }, 20000));
    EXPECT_FALSE(page.isRefreshingModels());
    EXPECT_GE(picker->count(), 2);  // the run's latest + its checkpoint
}

TEST(GeneratePage, SendWithoutAModelLoadsThePickedOneThenSends) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    trainTinyRun(dir.path(), settings.runsFolder());
    GeneratePage page(settings);
    QSignalSpy refreshed(&page, &GeneratePage::modelsRefreshed);
    page.refreshModels();
    ASSERT_TRUE(mts::test::waitUntil([&] { return refreshed.count() > 0; }, 20000));
    ASSERT_FALSE(page.job()->hasModel());

    QSignalSpy loaded(page.job(), &GenerationJob::modelLoaded);
    QSignalSpy done(&page, &GeneratePage::generationFinished);
    page.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(QStringLiteral("the quick"));
    page.send();
    // Loading shows: the status line says so and the busy bar is up.
    EXPECT_TRUE(page.statusText().startsWith(QStringLiteral("Loading"))) << page.statusText().toStdString();
    auto* progress = page.findChild<QProgressBar*>(QStringLiteral("modelLoadProgress"));
    ASSERT_NE(progress, nullptr);
    EXPECT_FALSE(progress->isHidden());
    // Then the prompt goes out without a second Send.
    ASSERT_TRUE(mts::test::waitUntil([&] { return done.count() > 0; }, 60000)) << page.statusText().toStdString();
    EXPECT_EQ(loaded.count(), 1);
    EXPECT_TRUE(page.job()->hasModel());
    EXPECT_TRUE(progress->isHidden());
    EXPECT_TRUE(page.statusText().startsWith(QStringLiteral("Loaded"))) << page.statusText().toStdString();
    const QString output = page.findChild<QPlainTextEdit*>(QStringLiteral("chatOutput"))->toPlainText();
    EXPECT_TRUE(output.startsWith(QStringLiteral("the quick")));
    EXPECT_GT(output.size(), QStringLiteral("the quick").size());
}

TEST(GeneratePage, SendWithNothingToLoadSaysWhatToDo) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    GeneratePage page(settings);
    QSignalSpy refreshed(&page, &GeneratePage::modelsRefreshed);
    page.refreshModels();
    ASSERT_TRUE(mts::test::waitUntil([&] { return refreshed.count() > 0; }, 20000));
    page.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(QStringLiteral("hello"));
    page.send();
    EXPECT_TRUE(page.statusText().contains(QStringLiteral("Train page"))) << page.statusText().toStdString();
    EXPECT_TRUE(page.statusText().contains(QStringLiteral("Open model folder")));
    EXPECT_FALSE(page.job()->busy());
    EXPECT_TRUE(page.findChild<QProgressBar*>(QStringLiteral("modelLoadProgress"))->isHidden());
    EXPECT_TRUE(page.findChild<QPlainTextEdit*>(QStringLiteral("chatOutput"))->toPlainText().isEmpty());
}

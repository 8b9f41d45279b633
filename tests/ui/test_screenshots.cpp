// Not a test: the tool that makes docs/screenshots/*.png from a real window. Disabled by
// default; run it under Xvfb with the xcb platform:
//
//   MTS_SCREENSHOT_DIR=$PWD/docs/screenshots QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1400x900x24" build/tests/mts_ui_tests --gtest_also_run_disabled_tests --gtest_filter='DISABLED_Screenshots.*'
//
// It builds the bundled sample dataset, trains a tiny Mamba and a tiny Transformer for a few
// hundred steps, chats with the Mamba, overlays both runs, and grabs the window on each page.
#include <filesystem>

#include <QPlainTextEdit>
#include <QPushButton>
#include <QScreen>
#include <QSignalSpy>
#include <QTest>
#include <QWindow>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/dataset_page.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "mts/ui/main_window.h"
#include "mts/ui/run_store.h"
#include "mts/ui/runs_page.h"
#include "mts/ui/theme.h"
#include "mts/ui/train_page.h"
#include "mts/ui/training_controller.h"
#include "ui_test_support.h"

using namespace mts::ui;

namespace {

void grab(MainWindow& window, const QString& dir, const QString& name) {
    QTest::qWait(400);
    QScreen* screen = window.screen();
    QPixmap shot = screen->grabWindow(window.winId());
    if (shot.isNull() || shot.width() < 100) shot = window.grab();
    ASSERT_TRUE(shot.save(dir + QLatin1Char('/') + name)) << name.toStdString();
}

QString runConfig(const QString& composed, int steps) {
    auto j = nlohmann::json::parse(composed.toStdString());
    j["max_steps"] = steps;
    j["seq_len"] = 128;
    j["micro_batch"] = 8;
    j["grad_accum"] = 1;
    j["warmup_steps"] = 20;
    j["log_every"] = 1;
    j["eval_every"] = 25;
    j["eval_batches"] = 4;
    j["sample_every"] = 100;
    j["sample_tokens"] = 80;
    j["checkpoint_every"] = 0;
    j["device"] = "cpu";
    return QString::fromStdString(j.dump(2));
}

}  // namespace

TEST(DISABLED_Screenshots, AllPages) {
    const QString out = qEnvironmentVariable("MTS_SCREENSHOT_DIR");
    if (out.isEmpty()) GTEST_SKIP() << "set MTS_SCREENSHOT_DIR";
    mts::test::uiApp();
    applyStudioStyle();
    std::filesystem::create_directories(out.toStdString());
    mts::test::TempDir dir;
    StudioOptions options;
    options.settingsFile = mts::test::qpath(dir / "settings.ini");
    options.dataDir = mts::test::qpath(dir / "data");
    options.sampleDataset = true;
    MainWindow window(options);
    window.resize(1360, 860);
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
    QSignalSpy added(window.datasetPage(), &DatasetPage::datasetAdded);
    ASSERT_TRUE(mts::test::waitUntil([&] { return added.count() > 0; }, 120000));
    grab(window, out, QStringLiteral("dataset.png"));

    TrainPage* train = window.trainPage();
    window.showPage(Page::Train);
    const int steps = qEnvironmentVariableIntValue("MTS_SCREENSHOT_STEPS") > 0 ? qEnvironmentVariableIntValue("MTS_SCREENSHOT_STEPS") : 300;
    for (const char* arch : {"transformer", "mamba"}) {
        train->choosePresets(QString::fromLatin1(arch), QStringLiteral("tiny"), QStringLiteral("cpu"), {});
        train->setConfigJson(runConfig(train->configJson(), steps));
        QSignalSpy finished(train->controller(), &TrainingController::finished);
        ASSERT_TRUE(train->startTraining()) << train->lastError().toStdString();
        ASSERT_TRUE(mts::test::waitUntil([&] { return finished.count() > 0; }, 900000));
    }
    grab(window, out, QStringLiteral("train.png"));

    window.showPage(Page::Generate);
    GeneratePage* generate = window.generatePage();
    QSignalSpy loaded(generate->job(), &GenerationJob::modelLoaded);
    generate->refreshModels();
    generate->loadModel(window.trainPage()->controller()->runDir());
    ASSERT_TRUE(mts::test::waitUntil([&] { return loaded.count() > 0; }, 60000));
    for (const char* prompt : {"# Training", "The model"}) {
        QSignalSpy done(generate, &GeneratePage::generationFinished);
        generate->findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(QString::fromLatin1(prompt));
        generate->send();
        ASSERT_TRUE(mts::test::waitUntil([&] { return done.count() > 0; }, 60000));
    }
    grab(window, out, QStringLiteral("generate.png"));

    window.showPage(Page::Runs);
    RunsPage* runs = window.runsPage();
    runs->refresh();
    ASSERT_TRUE(mts::test::waitUntil([&] { return !runs->isRefreshing(); }, 30000));
    QStringList names;
    for (const auto& run : listRuns(window.settings().runsFolder())) names << run.name;
    runs->selectRuns(names);
    grab(window, out, QStringLiteral("runs.png"));
}

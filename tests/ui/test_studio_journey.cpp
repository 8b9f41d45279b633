// The whole journey offscreen, as a person does it with the mouse: drop a folder -> dataset;
// tiny preset -> Train -> live points while the event loop stays responsive -> Stop saves a
// checkpoint -> Generate streams text from it -> a second run is stopped by closing the window
// (which asks, then saves) -> the Runs page overlays both runs.
#include <filesystem>
#include <fstream>
#include <random>

#include <QDropEvent>
#include <QElapsedTimer>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <QUrl>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "mts/ui/dataset_page.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "mts/ui/ingest_job.h"
#include "mts/ui/main_window.h"
#include "mts/ui/runs_page.h"
#include "mts/ui/train_charts.h"
#include "mts/ui/train_page.h"
#include "mts/ui/training_controller.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

void writeText(const fs::path& file, int sentences, unsigned seed) {
    static const char* kWords[] = {"the", "model", "reads", "tokens", "and", "learns", "to", "predict", "next",
                                   "word", "state", "space", "mamba", "selects", "what", "it", "keeps", "in",
                                   "memory", "while", "training", "loss", "falls", "slowly", "over", "steps"};
    std::mt19937 rng(seed);
    std::ofstream out(file);
    for (int s = 0; s < sentences; ++s) {
        const int n = 6 + int(rng() % 8);
        for (int w = 0; w < n; ++w) out << (w ? " " : "") << kWords[rng() % (sizeof(kWords) / sizeof(*kWords))];
        out << ".\n";
    }
}

int sumColumn(QTableWidget* table, int column) {
    int sum = 0;
    for (int r = 0; r < table->rowCount(); ++r) sum += table->item(r, column)->text().toInt();
    return sum;
}

// Measures the longest gap between ticks of a 5 ms timer: how long the GUI thread was busy.
class LatencyProbe : public QObject {
public:
    LatencyProbe() {
        m_timer.setInterval(5);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            if (m_clock.isValid()) m_max = std::max(m_max, m_clock.restart());
            else m_clock.start();
        });
        m_timer.start();
    }
    qint64 maxGapMs() const { return m_max; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_max = 0;
};

QString shortRunConfig(const QString& composed, int maxSteps) {
    auto j = nlohmann::json::parse(composed.toStdString());
    j["max_steps"] = maxSteps;
    j["seq_len"] = 64;
    j["micro_batch"] = 4;
    j["grad_accum"] = 1;
    j["warmup_steps"] = 5;
    j["log_every"] = 1;
    j["eval_every"] = 5;
    j["eval_batches"] = 2;
    j["sample_every"] = 0;
    j["checkpoint_every"] = 0;
    j["threads"] = 1;  // leave the other core to the GUI thread and the test
    j["device"] = "cpu";
    return QString::fromStdString(j.dump(2));
}

}  // namespace

TEST(StudioJourney, DropTrainStopGenerateCompare) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    const fs::path input = dir / "my-notes";
    fs::create_directories(input / "src");
    for (int i = 0; i < 6; ++i) writeText(input / ("note" + std::to_string(i) + ".txt"), 120, 10 + i);
    writeText(input / "readme.md", 80, 1);
    writeText(input / "guide.md", 80, 2);
    std::ofstream(input / "src" / "tool.py") << "def main():\n    print('hello from the studio')\n\nmain()\n";
    {
        std::ofstream bin(input / "blob.bin", std::ios::binary);
        for (int i = 0; i < 4096; ++i) bin.put(char(i % 7 == 0 ? 0 : (i * 37) & 0xff));
    }

    StudioOptions options;
    options.settingsFile = mts::test::qpath(dir / "settings.ini");
    options.dataDir = mts::test::qpath(dir / "data");
    options.sampleDataset = false;
    auto window = std::make_unique<MainWindow>(options);
    window->resize(1280, 820);
    window->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(window.get()));

    // 1. Drop the folder on the drop zone.
    DatasetPage* datasetPage = window->datasetPage();
    QSignalSpy added(datasetPage, &DatasetPage::datasetAdded);
    QSignalSpy ingestFailed(datasetPage, &DatasetPage::ingestFailed);
    {
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(mts::test::qpath(input))});
        // As a file manager does it: the drag enters (which makes the zone the drop target), then drops.
        QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(datasetPage->dropZone(), &enter);
        ASSERT_TRUE(enter.isAccepted());
        QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(datasetPage->dropZone(), &drop);
        ASSERT_TRUE(datasetPage->job()->running() || added.count() > 0);
    }
    ASSERT_TRUE(mts::test::waitUntil([&] { return added.count() > 0 || ingestFailed.count() > 0; }, 120000));
    ASSERT_EQ(ingestFailed.count(), 0) << ingestFailed.front().front().toString().toStdString();
    const QString corpus = added.front().front().toString();
    EXPECT_TRUE(fs::exists(fs::path(corpus.toStdString()) / "train.bin"));
    EXPECT_EQ(datasetPage->datasets(), QStringList{corpus});
    auto* kinds = datasetPage->findChild<QTableWidget*>(QStringLiteral("kindTable"));
    ASSERT_NE(kinds, nullptr);
    EXPECT_EQ(sumColumn(kinds, 1), 9);  // 6 .txt + 2 .md + 1 .py files read
    auto* skipped = datasetPage->findChild<QTableWidget*>(QStringLiteral("skippedTable"));
    ASSERT_NE(skipped, nullptr);
    ASSERT_EQ(skipped->rowCount(), 1);
    EXPECT_TRUE(skipped->item(0, 0)->text().endsWith(QStringLiteral("blob.bin")));
    EXPECT_GT(sumColumn(kinds, 4), 1000);  // tokens
    EXPECT_GT(sumColumn(kinds, 5), 0);     // validation tokens

    // 2. Tiny preset, short run, Train.
    window->showPage(Page::Train);
    TrainPage* train = window->trainPage();
    train->choosePresets(QStringLiteral("mamba"), QStringLiteral("tiny"), QStringLiteral("cpu"), {});
    train->setConfigJson(shortRunConfig(train->configJson(), 100000));
    EXPECT_EQ(QString::fromStdString(nlohmann::json::parse(train->configJson().toStdString())["data"].get<std::string>()), corpus);
    QSignalSpy finished(train->controller(), &TrainingController::finished);
    auto* trainButton = train->findChild<QPushButton*>(QStringLiteral("trainButton"));
    ASSERT_TRUE(trainButton && trainButton->isEnabled());
    {
        LatencyProbe probe;
        QTest::mouseClick(trainButton, Qt::LeftButton);
        ASSERT_TRUE(train->isTraining()) << train->lastError().toStdString();
        ASSERT_TRUE(mts::test::waitUntil([&] { return train->charts()->lossPointCount() >= 15 || finished.count() > 0; }, 180000));
        EXPECT_EQ(finished.count(), 0) << train->lastError().toStdString();
        EXPECT_GE(train->charts()->lossPointCount(), 15);
        // Coalesced: fewer replots than points would mean nothing if steps were slow, so only
        // require that replots never outnumber the points that arrived.
        EXPECT_LE(train->charts()->replotCount(), train->charts()->lossPointCount() + 5);
        EXPECT_LT(probe.maxGapMs(), 100) << "the event loop stalled while training";

        // 3. Stop saves a checkpoint.
        QTest::mouseClick(train->findChild<QPushButton*>(QStringLiteral("stopButton")), Qt::LeftButton);
        ASSERT_TRUE(mts::test::waitUntil([&] { return finished.count() > 0; }, 120000));
        EXPECT_LT(probe.maxGapMs(), 100);
    }
    const auto outcome = finished.front().front().value<TrainOutcome>();
    EXPECT_EQ(outcome.stopReason, QStringLiteral("cancelled")) << outcome.message.toStdString();
    ASSERT_FALSE(outcome.lastCheckpoint.isEmpty());
    EXPECT_TRUE(fs::exists(fs::path(outcome.lastCheckpoint.toStdString()) / "config.json"));
    const QString firstRun = outcome.runDir;
    EXPECT_FALSE(train->isTraining());

    // 4. Generate streams text from the run.
    window->showPage(Page::Generate);
    GeneratePage* generate = window->generatePage();
    QSignalSpy loaded(generate->job(), &GenerationJob::modelLoaded);
    QSignalSpy genFailed(generate->job(), &GenerationJob::failed);
    generate->loadModel(firstRun);
    ASSERT_TRUE(mts::test::waitUntil([&] { return loaded.count() > 0 || genFailed.count() > 0; }, 60000));
    ASSERT_EQ(genFailed.count(), 0) << genFailed.front().front().toString().toStdString();
    QSignalSpy pieces(generate->job(), &GenerationJob::text);
    QSignalSpy done(generate, &GeneratePage::generationFinished);
    generate->findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(QStringLiteral("the model"));
    QTest::mouseClick(generate->findChild<QPushButton*>(QStringLiteral("sendButton")), Qt::LeftButton);
    ASSERT_TRUE(mts::test::waitUntil([&] { return done.count() > 0; }, 60000));
    EXPECT_EQ(genFailed.count(), 0);
    EXPECT_GT(pieces.count(), 3);  // streamed piece by piece, not in one block
    const QString chat = generate->findChild<QPlainTextEdit*>(QStringLiteral("chatOutput"))->toPlainText();
    EXPECT_TRUE(chat.startsWith(QStringLiteral("the model")));
    EXPECT_GT(chat.size(), QStringLiteral("the model").size() + 3);

    // 5. A Transformer run, ended by closing the window: it asks, stops, saves.
    window->showPage(Page::Train);
    train->choosePresets(QStringLiteral("transformer"), QStringLiteral("tiny"), QStringLiteral("cpu"), {});
    train->setConfigJson(shortRunConfig(train->configJson(), 100000));
    QSignalSpy finished2(train->controller(), &TrainingController::finished);
    ASSERT_TRUE(train->startTraining()) << train->lastError().toStdString();
    ASSERT_TRUE(mts::test::waitUntil([&] { return train->charts()->lossPointCount() >= 6 || finished2.count() > 0; }, 180000));
    int asked = 0;
    window->setCloseConfirmation([&] {
        ++asked;
        return true;
    });
    window->close();  // hides at once; closes for real when the run has saved and ended
    EXPECT_EQ(asked, 1);
    EXPECT_FALSE(window->isVisible());
    ASSERT_TRUE(mts::test::waitUntil([&] { return finished2.count() == 1 && !window->engineBusy(); }, 180000));
    const auto outcome2 = finished2.front().front().value<TrainOutcome>();
    EXPECT_TRUE(fs::exists(fs::path(outcome2.lastCheckpoint.toStdString()) / "config.json")) << outcome2.message.toStdString();
    window.reset();

    // 6. The Runs page overlays both runs.
    MainWindow again(options);
    again.show();
    RunsPage* runs = again.runsPage();
    runs->refresh();
    ASSERT_TRUE(mts::test::waitUntil([&] { return !runs->isRefreshing(); }, 30000));
    ASSERT_EQ(runs->runCount(), 2);
    runs->selectRuns({QFileInfo(firstRun).fileName(), QFileInfo(outcome2.runDir).fileName()});
    EXPECT_GE(runs->overlayGraphCount(), 2);
    // The dataset list survived the restart.
    EXPECT_EQ(again.datasetPage()->datasets(), QStringList{corpus});
}

#include <fstream>

#include <QComboBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/memory_bar.h"
#include "mts/ui/train_page.h"
#include "mts/ui/train_presets.h"
#include "ui_test_support.h"

using namespace mts::ui;

TEST(TrainPresets, EveryCatalogChoiceComposesAValidConfig) {
    const PresetCatalog catalog = presetCatalog();
    ASSERT_FALSE(catalog.architectures.isEmpty());
    ASSERT_FALSE(catalog.sizes.isEmpty());
    ASSERT_FALSE(catalog.tiers.isEmpty());
    ASSERT_FALSE(catalog.trainings.isEmpty());
    for (const PresetOption& a : catalog.architectures) {
        for (const PresetOption& s : catalog.sizes) {
            EXPECT_FALSE(s.tooltip.isEmpty());
            const QString json = composeConfigJson({a.id, s.id, catalog.tiers.front().id, catalog.trainings.front().id},
                                                   QStringLiteral("/data/corpus"));
            const auto j = nlohmann::json::parse(json.toStdString());
            EXPECT_EQ(j["data"], "/data/corpus");
            EXPECT_EQ(j["model"]["arch"], a.id.toStdString());
            EXPECT_GT(modelSize(json).params, 0);
        }
    }
}

TEST(TrainPage, MemoryBarTurnsRedWhenThePresetCannotFit) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    TrainPage page(settings);
    page.resize(1200, 800);
    page.show();
    const PresetCatalog catalog = presetCatalog();

    // The largest size on the CPU tier (fp32, no checkpointing) cannot fit.
    page.choosePresets(QStringLiteral("mamba"), catalog.sizes.back().id, QStringLiteral("cpu"), {});
    MemoryBar* bar = page.memoryBar();
    ASSERT_GT(bar->totalBytes(), 0);
    EXPECT_TRUE(bar->overBudget());
    EXPECT_EQ(bar->stateColor(), QColor(0xd6, 0x2d, 0x2d));
    auto* suggestion = page.findChild<QLabel*>(QStringLiteral("memorySuggestion"));
    ASSERT_NE(suggestion, nullptr);
    EXPECT_TRUE(suggestion->text().contains(QStringLiteral("not fit")));
    // The painted bar really is red somewhere.
    const QImage image = bar->grab().toImage();
    bool red = false;
    for (int x = 0; x < image.width() && !red; ++x) red = image.pixelColor(x, 10) == QColor(0xd6, 0x2d, 0x2d);
    EXPECT_TRUE(red);

    // The smallest size fits the same tier.
    page.choosePresets(QStringLiteral("mamba"), catalog.sizes.front().id, QStringLiteral("cpu"), {});
    EXPECT_FALSE(bar->overBudget());
    EXPECT_NE(bar->stateColor(), QColor(0xd6, 0x2d, 0x2d));
}

TEST(TrainPage, EditedConfigDrivesTheEstimateAndBadJsonIsReported) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    TrainPage page(settings);
    page.choosePresets(QStringLiteral("mamba"), presetCatalog().sizes.front().id, QStringLiteral("cpu"), {});
    const double before = page.memoryBar()->totalBytes();
    auto j = nlohmann::json::parse(page.configJson().toStdString());
    j["micro_batch"] = j["micro_batch"].get<int>() * 64;
    page.setConfigJson(QString::fromStdString(j.dump(2)));
    EXPECT_GT(page.memoryBar()->totalBytes(), before);

    page.setConfigJson(QStringLiteral("{ not json"));
    EXPECT_EQ(page.memoryBar()->totalBytes(), 0);
    EXPECT_FALSE(page.startTraining());
    EXPECT_FALSE(page.lastError().isEmpty());
    EXPECT_FALSE(page.isTraining());
}

namespace {

// A corpus folder as far as the Train page reads it: manifest.json with its token counts.
QString writeManifest(const std::filesystem::path& dir, uint64_t trainTokens) {
    std::filesystem::create_directories(dir);
    const nlohmann::json m{{"format", "mts-corpus"}, {"tokens", {{"train", trainTokens}, {"val", trainTokens / 10}}}};
    std::ofstream(dir / "manifest.json") << m.dump();
    return mts::test::qpath(dir);
}

}  // namespace

TEST(TrainPage, SmallDatasetPicksTheSmallDataRecipeAndSizeUntilTheUserChoosesOthers) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    const QString small = writeManifest(dir / "shakespeare", 1'003'854);  // Tiny Shakespeare's size
    const QString large = writeManifest(dir / "books", 40'000'000);
    TrainPage page(settings);
    auto* training = page.findChild<QComboBox*>(QStringLiteral("trainingPresetPicker"));
    auto* note = page.findChild<QLabel*>(QStringLiteral("datasetNote"));
    ASSERT_NE(training, nullptr);
    ASSERT_NE(note, nullptr);

    auto* size = page.findChild<QComboBox*>(QStringLiteral("sizePicker"));
    ASSERT_NE(size, nullptr);
    page.setDataset(small);
    EXPECT_EQ(training->currentData().toString(), QStringLiteral("small-data"));
    EXPECT_EQ(size->currentData().toString(), QStringLiteral("compact"));
    EXPECT_EQ(page.config().model.dModel, 256);  // the recipe's size: Mamba 256 x 4
    EXPECT_EQ(page.config().model.nLayer, 4);
    EXPECT_TRUE(note->text().contains(QStringLiteral("1.00 M training tokens"))) << note->text().toStdString();
    // The composed config is the recipe's: its dropout reaches the model.
    EXPECT_GT(page.config().model.dropout, 0.0);
    EXPECT_GT(page.config().earlyStoppingPatience, 0);

    page.setDataset(large);
    EXPECT_EQ(training->currentData().toString(), QStringLiteral("default"));
    EXPECT_EQ(page.config().model.dropout, 0.0);

    // The user's own pick is kept whatever the dataset.
    const int careful = training->findData(QStringLiteral("careful"));
    ASSERT_GE(careful, 0);
    training->setCurrentIndex(careful);
    emit training->activated(careful);
    const int tiny = size->findData(QStringLiteral("tiny"));
    ASSERT_GE(tiny, 0);
    size->setCurrentIndex(tiny);
    emit size->activated(tiny);
    page.setDataset(small);
    EXPECT_EQ(training->currentData().toString(), QStringLiteral("careful"));
    EXPECT_EQ(size->currentData().toString(), QStringLiteral("tiny"));

    // A folder that is not a corpus (yet) leaves the pickers and hides the note.
    page.setDataset(mts::test::qpath(dir / "not-built"));
    EXPECT_EQ(training->currentData().toString(), QStringLiteral("careful"));
    EXPECT_TRUE(note->isHidden());
}

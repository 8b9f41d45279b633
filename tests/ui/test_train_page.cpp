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

// The Train page holds a TrainConfig; its JSON editor and its advanced fields are views of it.
// Every field of TrainConfig (and of its ModelConfig) survives editor -> struct -> editor, and a
// member added to the structs without a JSON key fails the member count check below.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "aggregate_fields.h"
#include "config_mutations.h"
#include "mts/core/model/architectures.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/train_page.h"
#include "ui_test_support.h"

using namespace mts::ui;
using nlohmann::json;

namespace {

// Construct after mts::test::uiApp().
struct PageFixture {
    mts::test::TempDir dir;
    AppSettings settings{mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data")};
    TrainPage page{settings};
};

json editorJson(const TrainPage& page) { return json::parse(page.configJson().toStdString()); }

}  // namespace

TEST(TrainConfigView, EditorShowsEveryMemberOfTheStructs) {
    mts::test::uiApp();
    PageFixture f;
    const json shown = editorJson(f.page);
    // One key per member: a member the JSON does not carry cannot be edited or saved.
    EXPECT_EQ(mts::test::aggregateFieldCount<mts::TrainConfig>(), shown.size());
    ASSERT_TRUE(shown.contains("model"));
    EXPECT_EQ(mts::test::aggregateFieldCount<mts::ModelConfig>(), shown["model"].size());
    EXPECT_EQ(shown, f.page.config().toJson());
}

TEST(TrainConfigView, EveryFieldRoundTripsThroughTheEditorAndTheStruct) {
    mts::test::uiApp();
    PageFixture f;
    const json base = f.page.config().toJson();
    const auto mutations = mts::test::configMutations(base);
    ASSERT_EQ(mutations.size(), base.size() - 1 + base["model"].size());
    for (const auto& [key, changed] : mutations) {
        // Typed into the editor: the struct takes the value.
        f.page.setConfigJson(QString::fromStdString(changed.dump(2)));
        EXPECT_TRUE(f.page.editorError().isEmpty()) << key << ": " << f.page.editorError().toStdString();
        EXPECT_EQ(f.page.config().toJson(), changed) << key;
        // Set on the struct: the editor shows it.
        f.page.setConfig(mts::TrainConfig::fromJson(base));
        EXPECT_EQ(editorJson(f.page), base) << key;
        f.page.setConfig(mts::TrainConfig::fromJson(changed));
        EXPECT_EQ(editorJson(f.page), changed) << key;
    }
}

TEST(TrainConfigView, FieldsAndEditorStayInSync) {
    mts::test::uiApp();
    PageFixture f;
    auto* every = f.page.findChild<QSpinBox*>(QStringLiteral("checkpointEverySpin"));
    auto* minutes = f.page.findChild<QDoubleSpinBox*>(QStringLiteral("checkpointMinutesSpin"));
    ASSERT_NE(every, nullptr);
    ASSERT_NE(minutes, nullptr);
    EXPECT_EQ(minutes->value(), f.page.config().checkpointMinutes);
    EXPECT_GT(minutes->value(), 0.0);  // the presets checkpoint by time too

    // Form -> struct and editor.
    minutes->setValue(3.5);
    every->setValue(123);
    EXPECT_EQ(f.page.config().checkpointMinutes, 3.5);
    EXPECT_EQ(f.page.config().checkpointEvery, 123);
    EXPECT_EQ(editorJson(f.page)["checkpoint_minutes"], 3.5);
    EXPECT_EQ(editorJson(f.page)["checkpoint_every"], 123);

    // Editor -> struct and form.
    json j = editorJson(f.page);
    j["checkpoint_minutes"] = 7.0;
    j["checkpoint_every"] = 40;
    f.page.setConfigJson(QString::fromStdString(j.dump(2)));
    EXPECT_EQ(minutes->value(), 7.0);
    EXPECT_EQ(every->value(), 40);
    EXPECT_EQ(f.page.config().checkpointMinutes, 7.0);

    // A typo leaves the struct as it was, is reported, and Train refuses it.
    f.page.setConfigJson(QStringLiteral("{\"checkpoint_minutes\": 1, \"no_such_key\": 2}"));
    EXPECT_FALSE(f.page.editorError().isEmpty());
    EXPECT_TRUE(f.page.editorError().contains(QStringLiteral("no_such_key")));
    EXPECT_EQ(f.page.config().checkpointMinutes, 7.0);
    EXPECT_FALSE(f.page.startTraining());
    EXPECT_FALSE(f.page.isTraining());

    // The pickers recompose the struct; the editor follows.
    f.page.choosePresets(QStringLiteral("transformer"), {}, {}, {});
    EXPECT_TRUE(f.page.editorError().isEmpty());
    EXPECT_EQ(f.page.config().model.arch, mts::Architecture::Transformer);
    EXPECT_EQ(editorJson(f.page), f.page.config().toJson());
}

TEST(TrainConfigView, ArchitecturePickerOffersEveryCoreArchitecture) {
    mts::test::uiApp();
    PageFixture f;
    auto* arch = f.page.findChild<QComboBox*>(QStringLiteral("archPicker"));
    ASSERT_NE(arch, nullptr);
    const auto& list = mts::architectureList();
    ASSERT_EQ(arch->count(), int(list.size()));
    for (int i = 0; i < arch->count(); ++i) {
        EXPECT_EQ(arch->itemData(i).toString().toStdString(), list[size_t(i)].id);
        EXPECT_EQ(arch->itemText(i).toStdString(), list[size_t(i)].displayName);
        f.page.choosePresets(arch->itemData(i).toString(), QStringLiteral("tiny"), QStringLiteral("cpu"), {});
        EXPECT_EQ(f.page.config().model.arch, list[size_t(i)].arch) << list[size_t(i)].id;
        EXPECT_EQ(editorJson(f.page)["model"]["arch"], list[size_t(i)].id);
    }
}

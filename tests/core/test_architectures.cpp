// The one architecture list (mts/core/model/architectures.h) reaches every front door: names,
// presets, model creation and `train --arch`.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/model/architectures.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/presets.h"

namespace {

using mts::test::runCommand;
using mts::test::shellQuoted;

TEST(Architectures, ListHoldsEveryArchitectureOnceWithNames) {
    const auto& list = mts::architectureList();
    ASSERT_GE(list.size(), 4u);  // mamba, transformer, attention1, linear at least
    std::set<std::string> ids;
    for (const mts::ArchitectureInfo& a : list) {
        EXPECT_TRUE(ids.insert(a.id).second) << "duplicate id " << a.id;
        EXPECT_FALSE(a.displayName.empty()) << a.id;
        EXPECT_FALSE(a.description.empty()) << a.id;
        EXPECT_EQ(mts::toString(a.arch), a.id);
        EXPECT_EQ(mts::architectureFromString(a.id), a.arch);
        EXPECT_EQ(mts::architectureInfo(a.arch).id, a.id);
    }
    for (const char* id : {"mamba", "transformer", "attention1", "linear"}) EXPECT_EQ(ids.count(id), 1u) << id;
    EXPECT_EQ(mts::architectureIds().size(), list.size());
    try {
        mts::architectureFromString("lstm");
        FAIL() << "an unknown architecture was accepted";
    } catch (const mts::ConfigError& e) {
        // The message lists what is accepted, from the same list.
        for (const std::string& id : ids) EXPECT_NE(std::string(e.what()).find(id), std::string::npos) << e.what();
    }
}

TEST(Architectures, EveryArchitectureComposesFromEveryModelPresetAndBuilds) {
    const mts::PresetCatalog catalog = mts::PresetCatalog::load();
    for (const mts::ArchitectureInfo& a : mts::architectureList()) {
        for (const std::string& size : catalog.modelNames()) {
            const mts::TrainConfig cfg = mts::composeConfig(catalog, {a.id, size, "cpu", "default"});
            EXPECT_EQ(cfg.model.arch, a.arch) << a.id << " " << size;
        }
        // The smallest preset really builds a model of that architecture.
        mts::TrainConfig tiny = mts::composeConfig(catalog, {a.id, "tiny", "cpu", "default"});
        const mts::LanguageModel model = mts::createModel(tiny.model);
        EXPECT_EQ(model->config().arch, a.arch);
        EXPECT_GT(model->numParameters(), 0) << a.id;
    }
}

TEST(Architectures, CliTrainArchOffersEveryArchitecture) {
    const std::string cli = shellQuoted(mts::test::cliPath());
    for (const mts::ArchitectureInfo& a : mts::architectureList()) {
        const auto r = runCommand(cli + " -q train --data /nonexistent/corpus --arch " + a.id +
                                  " --model-preset tiny --print-config 2>/dev/null");
        ASSERT_EQ(r.exitCode, 0) << a.id;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["model"]["arch"], a.id);
    }
    const auto help = runCommand(cli + " train --help 2>&1");
    for (const std::string& id : mts::architectureIds()) EXPECT_NE(help.out.find(id), std::string::npos) << id;
    const auto bad = runCommand(cli + " -q train --data /nonexistent/corpus --arch lstm --print-config 2>/dev/null");
    EXPECT_NE(bad.exitCode, 0);
}

}  // namespace

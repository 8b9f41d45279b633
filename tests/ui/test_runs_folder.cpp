// One runs folder for the CLI and the studio (issue 14, item 7): a run the CLI trains with
// the default runs folder appears on the studio's Runs and Generate pages, and runs in the
// studio's old location are offered beside them.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

// LibTorch-free core headers only.
#include "mts/core/train/data_dirs.h"
#include "mts/core/train/run_dir.h"

#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>

#include <gtest/gtest.h>

#include "command_run.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/runs_page.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (m_old) ::setenv(m_name, m_old->c_str(), 1);
        else ::unsetenv(m_name);
    }

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

}  // namespace

TEST(RunsFolder, HeadlessRunsAndOldStudioRunsShowInTheStudio) {
    mts::test::uiApp();
    mts::test::TempDir tmp;
    ScopedEnv xdg("XDG_DATA_HOME", (tmp / "xdg").string());
    ScopedEnv home("HOME", (tmp / "home").string());

    // The CLI, with no --runs-dir, trains a tiny run.
    {
        std::ofstream text(tmp / "a.txt");
        for (int i = 0; i < 200; ++i) text << "the state space model reads one token at a time.\n";
    }
    const auto r = mts::test::runCommand(
        "XDG_DATA_HOME=" + mts::test::shellQuoted((tmp / "xdg").string()) + " " +
        mts::test::shellQuoted(mts::test::cliPath()) + " train --data " + mts::test::shellQuoted((tmp / "a.txt").string()) +
        " --model-preset tiny --max-steps 2 --name headless --set seq_len=32 --set micro_batch=2 --set grad_accum=1"
        " --set model.n_layer=1 --set model.d_model=32 --set eval_every=0 >/dev/null 2>&1");
    ASSERT_EQ(r.exitCode, 0);

    // A run the old studio left in Qt's per-application folder.
    const fs::path oldRuns = tmp / "xdg" / "MambaStudio" / "mamba-studio" / "runs";
    fs::create_directories(oldRuns / "old-run" / "checkpoints" / "step-00000010");
    std::ofstream(oldRuns / "old-run" / "checkpoints" / "step-00000010" / "config.json") << "{}";
    std::ofstream(oldRuns / "old-run" / "config.json") << R"({"model": {"arch": "mamba"}})";

    AppSettings settings(mts::test::qpath(tmp / "settings.ini"));  // the default data folder
    EXPECT_EQ(settings.runsFolder().toStdString(), mts::defaultRunsDir().string());
    EXPECT_EQ(settings.runsFolder().toStdString(), (tmp / "xdg" / "mamba-studio" / "runs").string());
    ASSERT_EQ(settings.runsFolders().size(), 2);

    RunsPage runs(settings);
    QSignalSpy refreshed(&runs, &RunsPage::refreshed);
    runs.refresh();
    ASSERT_TRUE(mts::test::waitUntil([&] { return refreshed.count() > 0; }, 10000));
    EXPECT_EQ(runs.runCount(), 2);

    GeneratePage generate(settings);
    QSignalSpy listed(&generate, &GeneratePage::modelsRefreshed);
    generate.refreshModels();  // on a worker: the picker fills when modelsRefreshed() fires
    ASSERT_TRUE(mts::test::waitUntil([&] { return listed.count() > 0; }, 10000));
    auto* picker = generate.findChild<QComboBox*>(QStringLiteral("modelPicker"));
    ASSERT_NE(picker, nullptr);
    QStringList items;
    for (int i = 0; i < picker->count(); ++i) items << picker->itemText(i);
    EXPECT_TRUE(items.filter(QStringLiteral("headless")).size() > 0) << items.join(QStringLiteral(" | ")).toStdString();
    EXPECT_TRUE(items.filter(QStringLiteral("old-run")).size() > 0) << items.join(QStringLiteral(" | ")).toStdString();
}

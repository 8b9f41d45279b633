// One data folder for the CLI and the studio (issue 14, item 7): the default honours
// XDG_DATA_HOME, and runs left in the studio's old location are found.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "mts/core/train/data_dirs.h"
#include "mts/core/train/run_dir.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;

// Sets (or unsets, with nullopt) an environment variable for the scope, then restores it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::optional<std::string>& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        if (value) ::setenv(name, value->c_str(), 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (m_old) ::setenv(m_name, m_old->c_str(), 1);
        else ::unsetenv(m_name);
    }

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

void writeRunFolder(const fs::path& dir) {
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << "{}";
}

TEST(DataDirs, DefaultHonoursXdgDataHomeThenHome) {
    mts::test::TempDir tmp;
    {
        ScopedEnv xdg("XDG_DATA_HOME", (tmp / "xdg").string());
        ScopedEnv home("HOME", (tmp / "home").string());
        EXPECT_EQ(mts::defaultDataDir(), tmp / "xdg" / "mamba-studio");
        EXPECT_EQ(mts::defaultRunsDir(), tmp / "xdg" / "mamba-studio" / "runs");
    }
    {
        ScopedEnv xdg("XDG_DATA_HOME", std::nullopt);
        ScopedEnv home("HOME", (tmp / "home").string());
        EXPECT_EQ(mts::defaultRunsDir(), tmp / "home" / ".local" / "share" / "mamba-studio" / "runs");
    }
}

TEST(DataDirs, RunsInTheOldStudioLocationAreFound) {
    mts::test::TempDir tmp;
    ScopedEnv xdg("XDG_DATA_HOME", (tmp / "xdg").string());
    ScopedEnv home("HOME", (tmp / "home").string());
    const fs::path current = mts::defaultRunsDir();
    writeRunFolder(current / "new-run");
    EXPECT_TRUE(mts::legacyRunsDirs(current).empty());

    const fs::path oldStudio = tmp / "xdg" / "MambaStudio" / "mamba-studio" / "runs";
    fs::create_directories(oldStudio / "not-a-run");  // no config.json: not a run
    EXPECT_TRUE(mts::legacyRunsDirs(current).empty());
    writeRunFolder(oldStudio / "old-run");
    const fs::path homeShared = tmp / "home" / ".local" / "share" / "mamba-studio" / "runs";
    fs::create_directories(homeShared / "cli-run" / "checkpoints");
    EXPECT_EQ(mts::legacyRunsDirs(current), (std::vector<fs::path>{oldStudio, homeShared}));
    // The current folder is never listed as an old one.
    EXPECT_EQ(mts::legacyRunsDirs(oldStudio), (std::vector<fs::path>{homeShared}));
}

}  // namespace

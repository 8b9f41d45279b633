// Temporary corpus folders left by a killed process are swept at the next build, and only those
// whose owner process is gone (issue 13, item 8).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/corpus/data_loader.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/train/run_dir.h"
#include "runtime/owned_temp.h"
#include "shared_data.h"
#include "test_train_support.h"
#include "command_run.h"

using mts::test::deadPid;

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

void makeLeftover(const fs::path& dir) {
    fs::create_directories(dir);
    std::ofstream(dir / "train.bin") << "half-written";
}

}  // namespace

TEST(StaleTemp, NamesCarryTheOwnerPid) {
    TempDir dir;
    const fs::path t = mts::detail::makeOwnedTempDir(dir.path(), "corpus");
    EXPECT_TRUE(fs::is_directory(t));
    EXPECT_EQ(mts::detail::ownedTempOwner(t.filename().string()), ::getpid());
    EXPECT_EQ(mts::detail::ownedTempOwner(t.filename().string() + ".old"), ::getpid());
    EXPECT_EQ(mts::detail::ownedTempOwner("corpus.tmp-abc-123456"), 0);
    EXPECT_EQ(mts::detail::ownedTempOwner("corpus.tmp-12-12345"), 0);
    EXPECT_EQ(mts::detail::ownedTempOwner("my.tmp-folder"), 0);
    EXPECT_EQ(mts::detail::ownedTempOwner("notes"), 0);
}

TEST(StaleTemp, ABuildSweepsOnlyLeftoversOfDeadProcesses) {
    TempDir dir;
    const pid_t dead = deadPid();
    ASSERT_FALSE(mts::detail::processAlive(dead));
    const std::string tag = "-a1b2c3";
    const fs::path deadTmp = dir / ("old-corpus.tmp-" + std::to_string(dead) + tag);
    const fs::path deadOld = dir / ("old-corpus.tmp-" + std::to_string(dead) + tag + ".old");
    const fs::path ours = dir / ("busy.tmp-" + std::to_string(::getpid()) + tag);
    const fs::path init = dir / ("busy.tmp-1" + tag);  // pid 1 is always alive
    const fs::path user = dir / "thesis.tmp-folder";
    for (const auto& p : {deadTmp, deadOld, ours, init, user}) makeLeftover(p);
    fs::create_directories(dir / "notes");
    std::ofstream(dir / "notes" / "a.txt") << std::string(2000, 'x');

    mts::CorpusBuildConfig cfg;
    cfg.outDir = dir / "corpus";
    cfg.minValTokens = 16;
    mts::buildCorpus(cfg, mts::textFileSource(dir / "notes"));

    EXPECT_FALSE(fs::exists(deadTmp));
    EXPECT_FALSE(fs::exists(deadOld));
    EXPECT_TRUE(fs::exists(ours / "train.bin"));
    EXPECT_TRUE(fs::exists(init / "train.bin"));
    EXPECT_TRUE(fs::exists(user / "train.bin"));
}

TEST(StaleTemp, TrainingOnTextSweepsScratchCorporaOfKilledRuns) {
    TempDir dir;
    const fs::path leftover =
        fs::temp_directory_path() / ("mts-text.tmp-" + std::to_string(deadPid()) + "-zz9y8x");
    makeLeftover(leftover / "corpus");
    const fs::path text = mts::test::writeTinyCorpus(dir.path());
    (void)mts::openTrainData(text.string(), 0.1, 16, nullptr);
    EXPECT_FALSE(fs::exists(leftover));
}

// A trainer killed inside writeCheckpoint leaves .tmp-/.old- folders in checkpoints/: the next
// start (RunDir::open) removes those of dead processes, restores an .old- copy whose step folder
// is gone (killed between the two renames), and leaves live processes' folders alone.
TEST(StaleTemp, OpeningARunSweepsCheckpointLeftoversOfDeadWriters) {
    TempDir dir;
    fs::path runPath;
    {
        auto run = mts::RunDir::create(dir / "runs", "r", "mamba");
        runPath = run.path();
        std::ofstream(runPath / "config.json") << "{}\n";
    }
    const fs::path ck = runPath / "checkpoints";
    const std::string dead = std::to_string(deadPid());
    makeLeftover(ck / (".tmp-step-00000004-" + dead));
    makeLeftover(ck / (".old-step-00000002-" + dead));  // step-00000002 itself is missing
    makeLeftover(ck / "step-00000003");
    makeLeftover(ck / (".old-step-00000003-" + dead));  // step-00000003 exists: the old copy goes
    makeLeftover(ck / ".tmp-step-00000005-1");          // pid 1 is alive: not ours to touch
    makeLeftover(ck / ".tmp-notes");                     // not a name writeCheckpoint makes

    auto run = mts::RunDir::open(runPath);
    EXPECT_FALSE(fs::exists(ck / (".tmp-step-00000004-" + dead)));
    EXPECT_FALSE(fs::exists(ck / (".old-step-00000002-" + dead)));
    EXPECT_TRUE(fs::exists(ck / "step-00000002" / "train.bin"));
    EXPECT_FALSE(fs::exists(ck / (".old-step-00000003-" + dead)));
    EXPECT_TRUE(fs::exists(ck / "step-00000003" / "train.bin"));
    EXPECT_TRUE(fs::exists(ck / ".tmp-step-00000005-1" / "train.bin"));
    EXPECT_TRUE(fs::exists(ck / ".tmp-notes" / "train.bin"));
}

TEST(StaleTemp, AtomicWriteSweepsOnlyItsOwnDeadLeftovers) {
    TempDir dir;
    const pid_t dead = deadPid();
    ASSERT_FALSE(mts::detail::processAlive(dead));
    const fs::path file = dir / "run.json";
    const fs::path deadTmp = dir / ("run.json.tmp-" + std::to_string(dead));
    const fs::path liveTmp = dir / "run.json.tmp-1";                       // pid 1 is alive
    const fs::path otherFile = dir / ("notes.json.tmp-" + std::to_string(dead));
    const fs::path userFile = dir / "run.json.tmp-draft";
    for (const auto& p : {deadTmp, liveTmp, otherFile, userFile}) std::ofstream(p) << "{\"half";
    mts::writeFileAtomic(file, "{}\n");
    EXPECT_FALSE(fs::exists(deadTmp));
    EXPECT_TRUE(fs::exists(liveTmp));
    EXPECT_TRUE(fs::exists(otherFile));
    EXPECT_TRUE(fs::exists(userFile));
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "{}\n");
}

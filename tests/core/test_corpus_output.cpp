// The corpus output guard (issue 13, item 1): --overwrite and the studio's rebuild replace only a
// folder that is one of our corpora, never a source or a folder around or inside one, and
// "--out dir/" works.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/corpus/corpus_output.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

std::string someText() {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "line " + std::to_string(i) + " of a small note\n";
    return s;
}

mts::CorpusBuildResult build(const fs::path& source, const fs::path& out, bool overwrite) {
    mts::CorpusBuildConfig cfg;
    cfg.outDir = out;
    cfg.overwrite = overwrite;
    cfg.sources = {source};
    cfg.minValTokens = 16;
    return mts::buildCorpus(cfg, mts::textFileSource(source));
}

// The refusal names the folder and the reason; `mustStay` is untouched.
void expectRefused(const fs::path& source, const fs::path& out, const std::string& reason,
                   const fs::path& mustStay) {
    try {
        build(source, out, true);
        FAIL() << out << " was written";
    } catch (const mts::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::exists(mustStay)) << mustStay;
}

size_t entryCount(const fs::path& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST(CorpusOutput, OverwriteRefusesAFolderThatIsNotACorpus) {
    TempDir dir;
    writeFile(dir / "notes" / "a.txt", someText());
    writeFile(dir / "mine" / "thesis.tex", "my only copy");
    expectRefused(dir / "notes", dir / "mine", "not a Mamba Studio corpus", dir / "mine" / "thesis.tex");
    // A manifest that is not ours does not make it ours.
    writeFile(dir / "mine" / "manifest.json", "{\"format\": \"something-else\"}");
    expectRefused(dir / "notes", dir / "mine", "not a Mamba Studio corpus", dir / "mine" / "thesis.tex");
    // A hostile manifest is "not ours", never an exception of the JSON library.
    writeFile(dir / "mine" / "manifest.json", "{\"format\": 0}");
    EXPECT_FALSE(mts::isMtsCorpusFolder(dir / "mine"));
    expectRefused(dir / "notes", dir / "mine", "not a Mamba Studio corpus", dir / "mine" / "thesis.tex");
    EXPECT_EQ(entryCount(dir.path()), 2u);  // no temporary folder left beside
}

TEST(CorpusOutput, OverwriteReplacesOurCorpus) {
    TempDir dir;
    writeFile(dir / "notes" / "a.txt", someText());
    build(dir / "notes", dir / "corpus", false);
    ASSERT_TRUE(mts::isMtsCorpusFolder(dir / "corpus"));
    EXPECT_THROW(build(dir / "notes", dir / "corpus", false), mts::ConfigError);
    writeFile(dir / "notes" / "b.txt", someText());
    const auto r = build(dir / "notes", dir / "corpus", true);
    EXPECT_EQ(r.summary.documents, 2u);
    EXPECT_TRUE(mts::isMtsCorpusFolder(dir / "corpus"));
}

TEST(CorpusOutput, NeverOverASourceOrAroundOrInsideOne) {
    TempDir dir;
    // The source folder itself holds an old corpus: writing over it would delete the source.
    writeFile(dir / "notes" / "a.txt", someText());
    build(dir / "notes", dir / "corpus", false);
    fs::copy(dir / "corpus", dir / "notes" / "old-corpus", fs::copy_options::recursive);
    writeFile(dir / "notes" / "manifest.json", "{\"format\": \"mts-corpus\"}");
    expectRefused(dir / "notes", dir / "notes", "over the source", dir / "notes" / "a.txt");
    // Inside the source (the walk would read its own output; the replace would delete a part).
    expectRefused(dir / "notes", dir / "notes" / "old-corpus", "inside the source", dir / "notes" / "old-corpus");
    // Around the source: a corpus folder that holds the source.
    writeFile(dir / "corpus" / "sub" / "c.txt", someText());
    expectRefused(dir / "corpus" / "sub", dir / "corpus", "contains the source", dir / "corpus" / "sub" / "c.txt");
    // Through "..", a trailing separator or a symbolic link: the same folder.
    expectRefused(dir / "notes", dir / "notes" / ".." / "notes" / "", "over the source", dir / "notes" / "a.txt");
    fs::create_directory_symlink(dir / "notes", dir / "link");
    expectRefused(dir / "link", dir / "notes", "over the source", dir / "notes" / "a.txt");
}

TEST(CorpusOutput, TrailingSeparatorNamesTheFolder) {
    TempDir dir;
    writeFile(dir / "notes" / "a.txt", someText());
    const auto r = build(dir / "notes", (dir / "out").string() + "/", false);
    EXPECT_TRUE(mts::isMtsCorpusFolder(dir / "out"));
    EXPECT_EQ(r.summary.dir, dir / "out");
    EXPECT_EQ(entryCount(dir.path()), 2u);  // notes and out, nothing else
    for (const auto& e : fs::directory_iterator(dir / "out"))
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    EXPECT_EQ(mts::corpusOutputDir("a/b//"), fs::path("a/b"));
    EXPECT_EQ(mts::corpusOutputDir("/"), fs::path("/"));
}

// mamba-studio-cli ingest --overwrite replaces only one of our corpora (issue 13, item 1; the
// guard itself is core's, tested in tests/core/test_corpus_output.cpp).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "command_run.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;
using mts::test::TempDir;

void writeText(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

std::string readText(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string someText() {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "line " + std::to_string(i) + " of a small note\n";
    return s;
}

}  // namespace

TEST(CliIngestOverwrite, KeepsAPlainFolderAndAcceptsATrailingSeparator) {
    TempDir dir;
    writeText(dir / "src" / "a.txt", someText());
    writeText(dir / "mine" / "keep.txt", "mine");
    using mts::test::shellQuoted;
    const auto run = mts::test::runCommand(shellQuoted(mts::test::cliPath()) + " ingest " +
                                           shellQuoted((dir / "src").string()) + " --out " +
                                           shellQuoted((dir / "mine").string()) + " --overwrite 2>&1");
    EXPECT_NE(run.exitCode, 0) << run.out;
    EXPECT_NE(run.out.find("not a Mamba Studio corpus"), std::string::npos) << run.out;
    EXPECT_TRUE(fs::exists(dir / "mine" / "keep.txt"));
    // And "--out dir/" works from the CLI.
    const auto ok = mts::test::runCommand(shellQuoted(mts::test::cliPath()) + " ingest " +
                                          shellQuoted((dir / "src").string()) + " --out " +
                                          shellQuoted((dir / "corpus").string() + "/") + " 2>&1");
    EXPECT_EQ(ok.exitCode, 0) << ok.out;
    EXPECT_NE(readText(dir / "corpus" / "manifest.json").find("\"mts-corpus\""), std::string::npos) << ok.out;
}
